//! A live observability stack on loopback, for tests and drills.
//!
//! [`Monitoring::start`] runs Debian's Prometheus and Alertmanager (installed
//! with apt when missing) with the repository's own configuration
//! (`observability/prometheus/`, `observability/alertmanager/`), rewritten
//! only where a loopback run needs it: scrape and alerting targets, the SMTP
//! host, secret-file and template paths, and, when a test asks for it, the
//! rule evaluation interval. Slack webhooks go to a [`SlackWebhook`] receiver
//! (one URL per Alertmanager receiver, so the route an alert took is
//! visible), email to the test kit's SMTP sink. Every port comes from the OS;
//! every process is stopped when its value drops, also on failure.
//!
//! Other pieces: [`userhub::Userhub`] (real `userhub api|web|serve`
//! processes), [`proxy::FaultProxy`] (latency or a cut link in front of a
//! dependency), [`process::Supervised`] (any child process).
//!
//! ```ignore
//! let api = Userhub::start(&bin, "api", "api", &env, &work).await?;
//! let stack = Monitoring::start(MonitoringOptions {
//!     targets: BTreeMap::from([("api:9464".into(), vec![api.admin])]),
//!     evaluation_interval: Some("5s".into()), // tests only
//!     work_dir: work.join("monitoring"),
//! }).await?;
//! stack.wait_for_notification("UserhubTargetDown", "oncall", deadline).await?;
//! ```

// A toolkit shared by the observability test and the drills: not every
// caller uses every helper.
#![allow(dead_code)]

pub mod alertmanager;
pub mod config;
pub mod http;
pub mod process;
pub mod prometheus;
pub mod proxy;
pub mod userhub;
pub mod webhook;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_yaml::Value;
use userhub_testkit::SmtpSink;

pub use alertmanager::Alertmanager;
pub use prometheus::Prometheus;
pub use webhook::{SlackMessage, SlackWebhook};

use crate::delivery::free_loopback_addr;

/// What [`Monitoring::start`] needs.
#[derive(Debug, Clone)]
pub struct MonitoringOptions {
    /// `prometheus.yml` target (`api:9464`, `web:9464`, …) → loopback
    /// addresses. `alertmanager:9093` and `localhost:9090` are filled in;
    /// targets left out are scraped on an unused port (down).
    pub targets: BTreeMap<String, Vec<SocketAddr>>,
    /// Shortens `global.evaluation_interval` and every rule group's interval
    /// (tests only; scrape intervals stay the file's own).
    pub evaluation_interval: Option<String>,
    /// Configuration, data and logs go here.
    pub work_dir: PathBuf,
}

/// Prometheus + Alertmanager + a Slack webhook receiver + an SMTP sink.
/// Fields drop in order: Prometheus stops first.
#[derive(Debug)]
pub struct Monitoring {
    pub prometheus: Prometheus,
    pub alertmanager: Alertmanager,
    pub webhook: SlackWebhook,
    pub smtp: SmtpSink,
    /// Alertmanager receiver name → the webhook path its `slack_configs` post to.
    pub slack_paths: BTreeMap<String, String>,
    pub work_dir: PathBuf,
}

impl Monitoring {
    pub async fn start(options: MonitoringOptions) -> Result<Self> {
        let work = &options.work_dir;
        if work.exists() {
            std::fs::remove_dir_all(work)?;
        }
        std::fs::create_dir_all(work)?;
        let smtp = SmtpSink::start().await?;
        let webhook = SlackWebhook::start().await?;

        // Alertmanager: every secret file gets a file of our own holding the
        // webhook URL for that secret.
        let am_text = std::fs::read_to_string(config::alertmanager_yml())?;
        let secrets_dir = work.join("secrets");
        std::fs::create_dir_all(&secrets_dir)?;
        let mut secret_files = BTreeMap::new();
        for original in config::secret_files(&am_text)? {
            let name = secret_name(&original);
            let file = secrets_dir.join(&name);
            std::fs::write(&file, webhook.url(&format!("/slack/{name}")))?;
            secret_files.insert(original, file);
        }
        let slack_paths = slack_paths(&am_text)?;
        let am_config = config::rewrite_alertmanager(
            &am_text,
            &config::AlertmanagerRewrite {
                smtp_smarthost: smtp.addr(),
                secret_files,
                templates_dir: config::alertmanager_templates_dir(),
            },
        )?;
        let am_file = work.join("alertmanager.yml");
        std::fs::write(&am_file, am_config)?;
        let alertmanager = Alertmanager::start(&am_file, free_loopback_addr()?, work).await?;

        // Prometheus.
        let prom_addr = free_loopback_addr()?;
        let mut targets = options.targets.clone();
        targets.insert("alertmanager:9093".into(), vec![alertmanager.addr()]);
        targets.insert("localhost:9090".into(), vec![prom_addr]);
        let rules_dir = match &options.evaluation_interval {
            None => config::rules_dir(),
            Some(interval) => copy_rules(&work.join("rules"), interval)?,
        };
        let prom_config = config::rewrite_prometheus(
            &std::fs::read_to_string(config::prometheus_yml())?,
            &config::PrometheusRewrite {
                targets,
                rules_dir,
                evaluation_interval: options.evaluation_interval.clone(),
            },
        )?;
        let prom_file = work.join("prometheus.yml");
        std::fs::write(&prom_file, prom_config)?;
        let prometheus = Prometheus::start(&prom_file, prom_addr, work).await?;
        eprintln!(
            "livestack: prometheus {} alertmanager {} slack webhook {} smtp {} (work dir {})",
            prometheus.addr(),
            alertmanager.addr(),
            webhook.addr(),
            smtp.addr(),
            work.display()
        );
        Ok(Self {
            prometheus,
            alertmanager,
            webhook,
            smtp,
            slack_paths,
            work_dir: work.clone(),
        })
    }

    /// Slack messages that arrived through `receiver`'s webhook.
    pub fn slack_messages_of(&self, receiver: &str) -> Vec<SlackMessage> {
        let Some(path) = self.slack_paths.get(receiver) else {
            return Vec::new();
        };
        self.webhook
            .messages()
            .into_iter()
            .filter(|m| &m.path == path)
            .collect()
    }

    /// Waits for a firing Slack notification about `alertname` through `receiver`.
    pub async fn wait_for_notification(
        &self,
        alertname: &str,
        receiver: &str,
        deadline: Duration,
    ) -> Result<SlackMessage> {
        let path = self
            .slack_paths
            .get(receiver)
            .with_context(|| format!("receiver {receiver} has no Slack webhook"))?
            .clone();
        self.webhook
            .wait_for(&format!("for {alertname} via {receiver}"), deadline, |m| {
                m.path == path && is_firing_about(m, alertname)
            })
            .await
    }
}

/// Whether `message` is a firing notification about `alertname`
/// (the title our templates write: `[FIRING:n] Alertname (job) severity`).
pub fn is_firing_about(message: &SlackMessage, alertname: &str) -> bool {
    let title = message.title();
    title.starts_with("[FIRING")
        && title
            .split_whitespace()
            .nth(1)
            .is_some_and(|name| name == alertname)
}

fn secret_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.replace('/', "_"))
}

/// Receiver → webhook path, from the receivers' `slack_configs[].api_url_file`.
fn slack_paths(config: &str) -> Result<BTreeMap<String, String>> {
    let doc: Value = serde_yaml::from_str(config)?;
    let mut out = BTreeMap::new();
    for receiver in doc["receivers"].as_sequence().into_iter().flatten() {
        let name = receiver["name"].as_str().context("receiver without name")?;
        for slack in receiver["slack_configs"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            if let Some(file) = slack["api_url_file"].as_str() {
                out.insert(name.to_owned(), format!("/slack/{}", secret_name(file)));
            }
        }
    }
    Ok(out)
}

fn copy_rules(dir: &Path, interval: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(config::rules_dir())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yml") {
            let text = std::fs::read_to_string(&path)?;
            let name = path.file_name().context("rule file name")?;
            std::fs::write(
                dir.join(name),
                config::rewrite_rule_intervals(&text, interval)?,
            )?;
        }
    }
    Ok(dir.to_path_buf())
}
