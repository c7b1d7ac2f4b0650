//! rolling-restart: SIGTERM and restart each API replica in turn behind
//! HAProxy under load; not one request may fail. The full run then leaves
//! one replica down (a restart that does not come back) until
//! `UserhubTargetDown` reaches the on-call webhook (docs/drills.md).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::report::Target;
use super::{Ctx, DRILL_EMAIL, DRILL_PASSWORD, Outcome};

/// How long a replica may take from SIGTERM to exit (its drain deadline is 10 s).
const EXIT_BOUND: Duration = Duration::from_secs(15);
/// `UserhubTargetDown` has `for: 2m`; a scrape (15 s), an evaluation and the
/// on-call route's `group_wait` (10 s) come on top.
const TARGET_DOWN_BOUND: Duration = Duration::from_secs(190);

pub fn run(ctx: &mut Ctx) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let (mut cluster, mut stack, alerts) = super::two_replicas(ctx, |_| {})?;

    let rounds = ctx.pick(2, 1);
    let seconds = ctx.pick(60, 30);
    let url = stack.haproxy.url();
    let running = ctx.k6(
        "rolling",
        &url,
        (DRILL_EMAIL, DRILL_PASSWORD),
        20,
        40,
        seconds,
    )?;
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let mut exits = Vec::new();
    for round in 1..=rounds {
        for replica in 0..stack.api.len() {
            ctx.check_deadline()?;
            let name = stack.api[replica].spec.name.clone();
            ctx.event(format!("SIGTERM {name}"));
            let term = Instant::now();
            stack.api[replica].signal("TERM")?;
            let status = stack.api[replica]
                .wait_exit(EXIT_BOUND)?
                .with_context(|| format!("{name} did not exit within {EXIT_BOUND:?} of SIGTERM"))?;
            let took = term.elapsed();
            ctx.event(format!("{name} exited ({status})"));
            stack.api[replica].launch()?;
            let down_for =
                stack
                    .haproxy
                    .wait_server("api", &name, "UP", Duration::from_secs(10))?;
            ctx.event(format!("{name} back in the pool"));
            exits.push(serde_json::json!({
                "round": round,
                "replica": name,
                "sigterm_to_exit_ms": took.as_millis() as u64,
                "exit_status": status.to_string(),
                "restart_to_ready_ms": stack.api[replica].start_to_ready.as_millis() as u64,
                "ready_to_pool_ms": down_for.as_millis() as u64,
            }));
            if !status.success() {
                bail!("{name} exited with {status} after SIGTERM");
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    let restarts_done = started.elapsed();
    let (run, samples, _acks) = ctx.finish("rolling", running)?;
    if restarts_done.as_secs() + 3 > seconds {
        bail!(
            "the restarts outlasted the load ({restarts_done:?} of {seconds} s): the drill proves nothing"
        );
    }
    let failed: Vec<String> = samples
        .iter()
        .filter(|s| s.failed())
        .map(|s| {
            format!(
                "{} {}",
                s.name,
                if s.status == 0 {
                    s.error_code.clone()
                } else {
                    s.status.to_string()
                }
            )
        })
        .collect();
    let non_2xx = samples.iter().filter(|s| !s.is_2xx()).count();
    outcome.targets.push(Target::new(
        "failed requests",
        "0",
        format!(
            "{} failed, {non_2xx} non-2xx of {} requests during {} restarts",
            failed.len(),
            samples.len(),
            exits.len()
        ),
        non_2xx == 0 && !samples.is_empty(),
    ));
    outcome.targets.push(Target::new(
        "clean exits",
        "every replica exits 0 within its drain deadline",
        format!("{} restarts, all exit 0", exits.len()),
        true,
    ));
    let mut alert = serde_json::Value::Null;
    if let Some(alerts) = &alerts {
        // A replica that does not come back: the page must go out.
        let last = stack.api.len() - 1;
        let name = stack.api[last].spec.name.clone();
        ctx.event(format!("SIGTERM {name}, left down"));
        stack.api[last].signal("TERM")?;
        stack.api[last]
            .wait_exit(EXIT_BOUND)?
            .with_context(|| format!("{name} did not exit within {EXIT_BOUND:?} of SIGTERM"))?;
        let down = Instant::now();
        let target = alerts.expect("UserhubTargetDown", "oncall", down, TARGET_DOWN_BOUND)?;
        alert = serde_json::json!({ "replica_left_down": name, "measured": target.measured });
        outcome.targets.push(target);
        stack.api[last].launch()?;
        stack
            .haproxy
            .wait_server("api", &name, "UP", Duration::from_secs(10))?;
    }
    outcome.details = serde_json::json!({
        "alert": alert,
        "restarts": exits,
        "failures_sample": failed.iter().take(20).collect::<Vec<_>>(),
    });
    outcome.runs.push(run);
    drop(stack);
    cluster.stop("fast")?;
    Ok(outcome)
}
