//! crash: `kill -9` Userhub while it acknowledges writes, on SQLite and on
//! PostgreSQL; every acknowledged write must still be there afterwards.

use std::time::Duration;

use anyhow::{Context, Result};

use super::report::Target;
use super::{Ctx, DRILL_EMAIL, DRILL_PASSWORD, Outcome, ReadBack};
use crate::rig::{api, pg, stack};

pub fn run(ctx: &mut Ctx) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut details = serde_json::Map::new();

    // SQLite: one replica (one file, one host).
    let url = format!("sqlite://{}/crash.db?mode=rwc", ctx.work.display());
    phase(ctx, "sqlite", url, 1, &mut outcome, &mut details)?;

    // PostgreSQL: two replicas; each is killed in turn.
    let mut cluster = pg::Cluster::init(&ctx.work, "pg", &[])?;
    cluster.start()?;
    cluster.psql("postgres", "CREATE DATABASE userhub")?;
    phase(
        ctx,
        "postgres",
        cluster.url("userhub"),
        2,
        &mut outcome,
        &mut details,
    )?;
    cluster.stop("fast")?;

    outcome.details = serde_json::Value::Object(details);
    Ok(outcome)
}

fn phase(
    ctx: &mut Ctx,
    label: &str,
    database_url: String,
    replicas: usize,
    outcome: &mut Outcome,
    details: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let seconds = ctx.pick(30, 12);
    let options = stack::Options::new(&ctx.binary.clone(), database_url, replicas, false);
    let dir = ctx.work.join(label);
    std::fs::create_dir_all(&dir)?;
    let mut stack = stack::Stack::start(&options, &dir)?;
    api::signup_login(stack.haproxy.http, DRILL_EMAIL, DRILL_PASSWORD)?;
    let url = stack.haproxy.url();
    let running = ctx.k6(label, &url, (DRILL_EMAIL, DRILL_PASSWORD), 30, 10, seconds)?;

    // Kill at 1/3 (and, with two replicas, the other one at 2/3), restart at once.
    let kills = if replicas == 1 {
        vec![0, 0]
    } else {
        vec![0, 1]
    };
    let mut restarts_ms = Vec::new();
    for (n, replica) in kills.into_iter().enumerate() {
        std::thread::sleep(Duration::from_secs(seconds / 3).saturating_sub(if n == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(1)
        }));
        ctx.check_deadline()?;
        let name = stack.api[replica].spec.name.clone();
        ctx.event(format!("kill -9 {name}"));
        stack.api[replica].kill9()?;
        stack.api[replica]
            .launch()
            .with_context(|| format!("restarting {name}"))?;
        restarts_ms.push(stack.api[replica].start_to_ready.as_millis() as u64);
        ctx.event(format!("{name} ready again"));
    }
    let (run, _samples, acks) = ctx.finish(label, running)?;

    let ReadBack { stored, lost } = super::read_back(stack.haproxy.http, &acks)?;
    let last_kill = run
        .events
        .iter()
        .filter(|e| e.what.starts_with("kill"))
        .map(|e| e.at_ms)
        .max()
        .unwrap_or(0);
    let after = acks.iter().filter(|a| a.sent > last_kill).count();
    outcome.targets.push(Target::new(
        &format!("{label}: acknowledged writes lost"),
        "0",
        format!(
            "{} of {} acknowledged writes missing ({} rows stored)",
            lost.len(),
            acks.len(),
            stored
        ),
        lost.is_empty() && !acks.is_empty(),
    ));
    outcome.targets.push(Target::new(
        &format!("{label}: writes resume after the crash"),
        "acknowledged writes after the last kill > 0",
        format!("{after} acknowledged after the last kill; restart to ready {restarts_ms:?} ms"),
        after > 0,
    ));
    details.insert(
        label.to_owned(),
        serde_json::json!({
            "acknowledged": acks.len(),
            "stored": stored,
            "lost": lost,
            "restart_to_ready_ms": restarts_ms,
            "replicas": replicas,
        }),
    );
    outcome.runs.push(run);
    drop(stack);
    Ok(())
}
