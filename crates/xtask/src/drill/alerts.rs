//! Alert assertions during a drill: Debian's Prometheus and Alertmanager
//! with the repository's configuration (the live stack of `cargo xtask
//! observability`, [`crate::livestack::Monitoring`]) scrape the drill's API
//! replicas; the drill asserts that the alert matching its fault fires and
//! reaches the Slack webhook of the route the configuration gives it.
//!
//! The only change to the configuration is the one the observability test
//! makes: rules are evaluated every
//! [`TEST_EVALUATION_INTERVAL`](crate::observability::live::TEST_EVALUATION_INTERVAL)
//! instead of 15 s / 30 s. Scrape intervals, `for` durations, thresholds and
//! routes are the files' own, so an alert with `for: 2m` takes its two
//! minutes (plus a scrape, an evaluation and the route's `group_wait`).
//! `userhub-web` is not part of the drills; its target is scraped on an
//! unused port, so only alerts of job `userhub-api` are judged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::Ctx;
use super::report::Target;
use crate::livestack::{Monitoring, MonitoringOptions, SlackMessage, is_firing_about};
use crate::observability::live::TEST_EVALUATION_INTERVAL;
use crate::rig::stack::Stack;

/// The job whose alerts a drill judges.
const JOB: &str = "userhub-api";
/// The burn-rate alerts have `for: 2m`; a scrape (15 s), the recording
/// rules' evaluation and the on-call route's `group_wait` (10 s) come on top.
const BURN_ALERT_BOUND: Duration = Duration::from_secs(200);

/// Prometheus + Alertmanager + webhook receiver, and the runtime serving them.
pub struct Alerts {
    // Dropped before the runtime: the monitoring stack stops first.
    monitoring: Option<Monitoring>,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts").finish_non_exhaustive()
    }
}

impl Alerts {
    /// Starts the stack scraping `admin` (the replicas' admin listeners) as
    /// the `userhub-api` job and waits until every replica is scraped up.
    pub fn start(admin: &[SocketAddr], work: &Path) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let monitoring = runtime.block_on(async {
            let monitoring = Monitoring::start(MonitoringOptions {
                targets: BTreeMap::from([("api:9464".to_owned(), admin.to_vec())]),
                evaluation_interval: Some(TEST_EVALUATION_INTERVAL.to_owned()),
                work_dir: work.join("monitoring"),
            })
            .await?;
            monitoring
                .prometheus
                .wait_until_up(&[JOB], Duration::from_secs(60))
                .await?;
            anyhow::Ok(monitoring)
        })?;
        println!(
            "  alerts: prometheus {} alertmanager {} (rules every {TEST_EVALUATION_INTERVAL})",
            monitoring.prometheus.addr(),
            monitoring.alertmanager.addr()
        );
        Ok(Self {
            monitoring: Some(monitoring),
            runtime,
        })
    }

    /// The full run's alert stack on `stack`'s replicas; `None` for the
    /// short (CI) variant, which skips the alerts (each needs minutes).
    pub fn unless_short(ctx: &Ctx, stack: &Stack) -> Result<Option<Self>> {
        if ctx.short {
            return Ok(None);
        }
        let admin: Vec<SocketAddr> = stack.api.iter().map(|p| p.spec.admin).collect();
        Self::start(&admin, &ctx.work).map(Some)
    }

    /// `UserhubAvailabilityBudgetBurnFast` on the on-call webhook within
    /// its bound of `fault`.
    pub fn expect_budget_burn(&self, fault: Instant) -> Result<Target> {
        self.expect(
            "UserhubAvailabilityBudgetBurnFast",
            "oncall",
            fault,
            BURN_ALERT_BOUND,
        )
    }

    fn monitoring(&self) -> Result<&Monitoring> {
        self.monitoring.as_ref().context("monitoring stopped")
    }

    /// Waits at most `within` from `fault` (the instant the fault began)
    /// for a firing notification about `alert` of job `userhub-api` on
    /// `receiver`'s Slack webhook, and judges it.
    pub fn expect(
        &self,
        alert: &str,
        receiver: &str,
        fault: Instant,
        within: Duration,
    ) -> Result<Target> {
        let monitoring = self.monitoring()?;
        let path = monitoring
            .slack_paths
            .get(receiver)
            .with_context(|| format!("receiver {receiver} has no Slack webhook"))?
            .clone();
        let wanted = |m: &SlackMessage| {
            m.path == path && is_firing_about(m, alert) && m.title().contains(&format!("({JOB})"))
        };
        let left = within.saturating_sub(fault.elapsed());
        let found = self.runtime.block_on(monitoring.webhook.wait_for(
            &format!("for {alert} via {receiver}"),
            left,
            wanted,
        ));
        let measured = match &found {
            Ok(message) => {
                let after = message
                    .received
                    .elapsed()
                    .map(|since| fault.elapsed().saturating_sub(since))
                    .unwrap_or_default();
                format!(
                    "“{}” on the {receiver} webhook {:.0} s after the fault",
                    message.title(),
                    after.as_secs_f64()
                )
            }
            Err(error) => {
                let firing = self.firing().unwrap_or_default();
                format!(
                    "not received within {} s ({error:#}); firing in Prometheus: {firing:?}",
                    within.as_secs()
                )
            }
        };
        Ok(Target::new(
            &format!("alert {alert}"),
            &format!(
                "fires and reaches the {receiver} webhook within {} s of the fault",
                within.as_secs()
            ),
            measured,
            found.is_ok(),
        ))
    }

    /// Names of the alerts firing in Prometheus now (for the report).
    fn firing(&self) -> Result<Vec<String>> {
        let alerts = self
            .runtime
            .block_on(self.monitoring()?.prometheus.alerts())?;
        Ok(alerts
            .into_iter()
            .filter(|a| a.state == "firing")
            .map(|a| {
                format!(
                    "{} ({})",
                    a.labels.get("alertname").cloned().unwrap_or_default(),
                    a.labels.get("job").cloned().unwrap_or_default()
                )
            })
            .collect())
    }
}

impl Drop for Alerts {
    fn drop(&mut self) {
        if let Some(monitoring) = self.monitoring.take() {
            // Its processes stop on drop; the webhook task needs the runtime.
            let _guard = self.runtime.enter();
            drop(monitoring);
        }
    }
}
