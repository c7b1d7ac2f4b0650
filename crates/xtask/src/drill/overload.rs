//! overload: ten times the sustainable request rate for 30 s. Memory must
//! stay bounded, the excess must be shed fast with 503/429 (not left to
//! time out), and the service must recover when the load ends.
//!
//! Admission control is the service's own: each replica handles at most
//! [`IN_FLIGHT`] requests at once (`USERHUB_MAX_IN_FLIGHT_REQUESTS`) and
//! answers the excess 503 with `Retry-After` before doing any work.
//! HAProxy's `maxconn` per replica is set well above it, so its queue
//! (1 s, then its own 503) is only the backstop.
//!
//! The full run also asserts that `UserhubAvailabilityBudgetBurnFast` (the
//! shed 503s burn the availability budget) reaches the on-call webhook.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::report::Target;
use super::{Ctx, DRILL_EMAIL, DRILL_PASSWORD, Outcome};
use crate::rig::k6;

/// The sustainable rate: writes + reads per second (the release build holds
/// the SLOs at it with room to spare; at ten times it, it must shed).
const WRITES: u32 = 30;
const READS: u32 = 60;
const FACTOR: u32 = 10;
/// Bounded memory: each replica's peak RSS.
const RSS_BOUND_MIB: u64 = 256;
/// A shed request must be answered within this (p99).
const SHED_BOUND_MS: f64 = 1500.0;
/// `USERHUB_MAX_IN_FLIGHT_REQUESTS` per replica.
const IN_FLIGHT: u32 = 24;
/// HAProxy's `maxconn` per replica: above [`IN_FLIGHT`], so the service sheds.
const HAPROXY_MAXCONN: u32 = 128;

pub fn run(ctx: &mut Ctx) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let (mut cluster, stack, alerts) = super::two_replicas(ctx, |options| {
        options.api_env.push((
            "USERHUB_MAX_IN_FLIGHT_REQUESTS".to_owned(),
            IN_FLIGHT.to_string(),
        ));
        options.api_maxconn = HAPROXY_MAXCONN;
    })?;

    let baseline = 10;
    let overload = ctx.pick(30, 15);
    let recovery = ctx.pick(20, 12);
    let pids: Vec<u32> = stack.api.iter().filter_map(|p| p.pid()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for pid in &pids {
                    if let Some(kib) = crate::rig::process::status_kib(*pid, "VmRSS:") {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let seconds = baseline + overload + recovery;
    let running = {
        let files = k6::Files::in_dir(&ctx.work, "overload", None);
        let env: Vec<(String, String)> = [
            ("BASE_URL", stack.haproxy.url()),
            ("DRILL_EMAIL", DRILL_EMAIL.to_owned()),
            ("DRILL_PASSWORD", DRILL_PASSWORD.to_owned()),
            ("WRITES_PER_SECOND", WRITES.to_string()),
            ("READS_PER_SECOND", READS.to_string()),
            ("OVERLOAD", FACTOR.to_string()),
            ("BASELINE_SECONDS", baseline.to_string()),
            ("OVERLOAD_SECONDS", overload.to_string()),
            ("RECOVERY_SECONDS", recovery.to_string()),
            ("MAX_VUS", "800".to_owned()),
            ("REQUEST_TIMEOUT", "10s".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        k6::spawn(
            &ctx.tools,
            "drill.js",
            &env,
            files,
            Duration::from_secs(seconds + 60),
        )?
    };
    let start = crate::rig::now_ms();
    std::thread::sleep(Duration::from_secs(baseline));
    let overload_started = Instant::now();
    ctx.event(format!("{FACTOR}x load"));
    std::thread::sleep(Duration::from_secs(overload));
    ctx.event("back to the sustainable rate");
    let (run, samples, _acks) = ctx.finish("overload", running)?;
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let peak_mib = peak.load(Ordering::Relaxed) / 1024;

    let first = samples.iter().map(|s| s.at_ms).min().unwrap_or(start);
    let phase = |from: u64, to: u64| -> Vec<&k6::Sample> {
        samples
            .iter()
            .filter(|s| s.at_ms >= first + from as i64 * 1000 && s.at_ms < first + to as i64 * 1000)
            .collect()
    };
    let base = Health::of(&phase(1, baseline));
    outcome.targets.push(Target::new(
        "the base rate is sustainable",
        "p99 < 500 ms, 0 failures",
        format!("{} req/s offered: {base}", WRITES + READS),
        base.healthy(),
    ));
    let over = phase(baseline, baseline + overload + 2);
    let served = over.iter().filter(|s| s.is_2xx()).count();
    let shed: Vec<&&k6::Sample> = over
        .iter()
        .filter(|s| s.status == 503 || s.status == 429)
        .collect();
    let other: Vec<&&k6::Sample> = over
        .iter()
        .filter(|s| !s.is_2xx() && s.status != 503 && s.status != 429)
        .collect();
    let mut shed_ms: Vec<f64> = shed.iter().map(|s| s.duration_ms).collect();
    shed_ms.sort_by(f64::total_cmp);
    let shed_p99 = k6::percentile(&shed_ms, 0.99);
    outcome.targets.push(Target::new(
        "shedding is fast",
        "excess answered 503/429 (some shed, p99 ≤ 1.5 s); no 500, no timeouts",
        format!(
            "{} requests in the overload: {served} served, {} shed (p99 {shed_p99:.0} ms), {} other failures",
            over.len(),
            shed.len(),
            other.len()
        ),
        other.is_empty() && !shed.is_empty() && shed_p99 <= SHED_BOUND_MS,
    ));
    outcome.targets.push(Target::new(
        "bounded memory",
        &format!("peak RSS per replica ≤ {RSS_BOUND_MIB} MiB"),
        format!("{peak_mib} MiB"),
        peak_mib <= RSS_BOUND_MIB,
    ));
    let tail = Health::of(&phase(baseline + overload + 5, seconds));
    outcome.targets.push(Target::new(
        "recovery",
        "from 5 s after the overload: p99 < 500 ms, 0 failures",
        tail.to_string(),
        tail.healthy() && tail.requests > 0,
    ));
    if let Some(alerts) = &alerts {
        outcome
            .targets
            .push(alerts.expect_budget_burn(overload_started)?);
    }
    let dropped = k6::metric_rows(&run.csv, "dropped_iterations")?.len();
    outcome.details = serde_json::json!({
        "base_rate_per_second": WRITES + READS,
        "overload_factor": FACTOR,
        "overload_seconds": overload,
        "served_during_overload": served,
        "shed_during_overload": shed.len(),
        "k6_dropped_iterations": dropped,
        "in_flight_limit_per_replica": IN_FLIGHT,
        "haproxy_maxconn_per_replica": HAPROXY_MAXCONN,
        "haproxy_queue_timeout_ms": 1000,
        "peak_rss_mib": peak_mib,
    });
    outcome.runs.push(run);
    drop(stack);
    cluster.stop("fast")?;
    Ok(outcome)
}

/// The requests of a phase at the sustainable rate: how many, how many were
/// not 2xx, and their p99.
#[derive(Debug)]
struct Health {
    requests: usize,
    failed: usize,
    p99_ms: f64,
}

impl Health {
    fn of(samples: &[&k6::Sample]) -> Self {
        let mut durations: Vec<f64> = samples.iter().map(|s| s.duration_ms).collect();
        durations.sort_by(f64::total_cmp);
        Self {
            requests: samples.len(),
            failed: samples.iter().filter(|s| !s.is_2xx()).count(),
            p99_ms: k6::percentile(&durations, 0.99),
        }
    }

    /// p99 under 500 ms and not one failure.
    fn healthy(&self) -> bool {
        self.failed == 0 && self.p99_ms < 500.0
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests, {} failed, p99 {:.0} ms",
            self.requests, self.failed, self.p99_ms
        )
    }
}
