//! db-outage: stop PostgreSQL for 15 s (`pg_ctl stop -m fast`, then again
//! with `-m immediate`) under load. While it is down Userhub must answer
//! only 503 with `Retry-After` (no 500, nothing hanging past its timeout),
//! fail `/readyz` within 1 s, and recover within 5 s of PostgreSQL's return
//! without being restarted.
//!
//! The full run also asserts that `UserhubAvailabilityBudgetBurnFast`
//! (the 503s burn the availability budget) reaches the on-call webhook.
//!
//! HAProxy checks `/livez` here, not `/readyz`: with one database behind
//! every replica, a readiness-based balancer would take all of them out and
//! answer for them, and the drill measures the service's own answers.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::report::Target;
use super::{Ctx, DRILL_EMAIL, DRILL_PASSWORD, Outcome};
use crate::rig::haproxy::Check;
use crate::rig::process::Prober;
use crate::rig::{k6, now_ms};

/// Requests may wait this long for a connection before the 503 (the default
/// `USERHUB_DB_ACQUIRE_TIMEOUT_SECONDS`); one more second is the bound.
const ANSWER_BOUND_MS: f64 = 6000.0;

#[derive(Debug, Clone, Copy)]
struct Window {
    mode: &'static str,
    stop_issued: i64,
    down: i64,
    start_issued: i64,
    up: i64,
}

pub fn run(ctx: &mut Ctx) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let (mut cluster, mut stack, alerts) =
        super::two_replicas(ctx, |options| options.check = Check::Livez)?;

    let outage = ctx.pick(15, 6);
    let settle = ctx.pick(12, 8);
    let seconds = 3 + 2 * (outage + settle) + 2;
    let url = stack.haproxy.url();
    let prober = Prober::start(
        stack.api.iter().map(|p| p.spec.bind).collect(),
        "/readyz",
        Duration::from_millis(100),
    );
    let running = ctx.k6(
        "db-outage",
        &url,
        (DRILL_EMAIL, DRILL_PASSWORD),
        10,
        20,
        seconds,
    )?;
    std::thread::sleep(Duration::from_secs(3));
    let mut windows = Vec::new();
    let first_fault = Instant::now();
    for mode in ["fast", "immediate"] {
        ctx.check_deadline()?;
        let stop_issued = now_ms();
        ctx.event(format!("pg_ctl stop -m {mode}"));
        cluster.stop(mode)?;
        let down = now_ms();
        std::thread::sleep(Duration::from_secs(outage));
        let start_issued = now_ms();
        ctx.event("pg_ctl start");
        cluster.start()?;
        let up = now_ms();
        ctx.event("PostgreSQL accepting connections");
        windows.push(Window {
            mode,
            stop_issued,
            down,
            start_issued,
            up,
        });
        std::thread::sleep(Duration::from_secs(settle));
    }
    let (run, samples, _acks) = ctx.finish("db-outage", running)?;
    let probes = prober.finish();
    let missing_retry_after = k6::metric_rows(&run.csv, "retry_after_missing")?.len();

    let mut details = Vec::new();
    for w in &windows {
        // Requests that ended while the database was stopping, down or starting.
        let during: Vec<&k6::Sample> = samples
            .iter()
            .filter(|s| s.at_ms >= w.stop_issued && s.at_ms <= w.up)
            .collect();
        let bad: Vec<String> = during
            .iter()
            .filter(|s| !s.is_2xx() && s.status != 503)
            .map(|s| {
                if s.status == 0 {
                    format!("error {}", s.error_code)
                } else {
                    s.status.to_string()
                }
            })
            .collect();
        let shed = during.iter().filter(|s| s.status == 503).count();
        outcome.targets.push(Target::new(
            &format!("{}: answers while down", w.mode),
            "only 2xx (before the loss) or 503 + Retry-After; no 500, no timeout",
            format!(
                "{} requests: {shed} × 503, {} other non-2xx {:?}",
                during.len(),
                bad.len(),
                summarize(&bad)
            ),
            bad.is_empty() && shed > 0,
        ));
        // /readyz: first 503 on every replica after the server was down.
        let readyz_fail = (0..stack.api.len())
            .map(|i| {
                probes
                    .iter()
                    .find(|(at, n, status)| *n == i && *at >= w.stop_issued && *status == Some(503))
                    .map(|(at, _, _)| at - w.down)
            })
            .collect::<Vec<_>>();
        let worst_fail = readyz_fail
            .iter()
            .map(|d| d.unwrap_or(i64::MAX))
            .max()
            .unwrap_or(i64::MAX);
        outcome.targets.push(Target::new(
            &format!("{}: /readyz 503 after PostgreSQL is down", w.mode),
            "≤ 1 s",
            format!(
                "{:?} ms per replica (from pg_ctl stop returning)",
                readyz_fail
            ),
            worst_fail <= 1000,
        ));
        // Recovery: the last failing request and the first /readyz 200 after PostgreSQL is back.
        let next_stop = windows
            .iter()
            .map(|x| x.stop_issued)
            .filter(|at| *at > w.up)
            .min()
            .unwrap_or(i64::MAX);
        let last_failure = samples
            .iter()
            .filter(|s| s.at_ms > w.up && s.at_ms < next_stop && !s.is_2xx())
            .map(|s| s.at_ms - w.up)
            .max()
            .unwrap_or(0);
        let ready_again = (0..stack.api.len())
            .map(|i| {
                probes
                    .iter()
                    .find(|(at, n, status)| *n == i && *at >= w.up && *status == Some(200))
                    .map(|(at, _, _)| at - w.up)
                    .unwrap_or(i64::MAX)
            })
            .max()
            .unwrap_or(i64::MAX);
        let recovered = last_failure.max(ready_again);
        outcome.targets.push(Target::new(
            &format!("{}: recovery after PostgreSQL returns", w.mode),
            "≤ 5 s, no restart",
            format!("last failed request +{last_failure} ms, every /readyz 200 +{ready_again} ms"),
            recovered <= 5000,
        ));
        details.push(serde_json::json!({
            "mode": w.mode,
            "stop_took_ms": w.down - w.stop_issued,
            "down_ms": w.start_issued - w.down,
            "start_took_ms": w.up - w.start_issued,
            "requests_during": during.len(),
            "shed_503": shed,
            "other_failures": summarize(&bad),
            "readyz_503_after_ms": readyz_fail,
            "last_failure_after_up_ms": last_failure,
            "readyz_200_after_up_ms": ready_again,
        }));
    }
    let server_errors = samples.iter().filter(|s| s.status == 500).count();
    let slowest = samples.iter().map(|s| s.duration_ms).fold(0.0, f64::max);
    let timeouts = samples.iter().filter(|s| s.status == 0).count();
    outcome.targets.push(Target::new(
        "500 answers",
        "0",
        format!("{server_errors}"),
        server_errors == 0,
    ));
    outcome.targets.push(Target::new(
        "503 without Retry-After",
        "0",
        format!("{missing_retry_after}"),
        missing_retry_after == 0,
    ));
    outcome.targets.push(Target::new(
        "no request hangs past its timeout",
        "every answer within 6 s (acquire timeout 5 s + 1 s), no client timeout",
        format!("slowest {slowest:.0} ms, {timeouts} transport errors/timeouts"),
        slowest <= ANSWER_BOUND_MS && timeouts == 0,
    ));
    let alive: Vec<bool> = stack.api.iter_mut().map(|p| p.is_running()).collect();
    outcome.targets.push(Target::new(
        "no restart",
        "the processes started before the outage serve after it",
        format!("replicas still running: {alive:?}"),
        alive.iter().all(|a| *a),
    ));
    if let Some(alerts) = &alerts {
        outcome
            .targets
            .push(alerts.expect_budget_burn(first_fault)?);
    }
    outcome.details = serde_json::json!({ "windows": details, "outage_seconds": outage });
    outcome.runs.push(run);
    drop(stack);
    cluster.stop("fast")?;
    Ok(outcome)
}

fn summarize(values: &[String]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for v in values {
        *counts.entry(v.clone()).or_insert(0) += 1;
    }
    counts
}
