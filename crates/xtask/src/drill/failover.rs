//! failover: a primary with a synchronous streaming replica behind
//! HAProxy's PostgreSQL front; `kill -9` the primary under write load,
//! promote the replica. No acknowledged write may be lost and write errors
//! must be confined to 10 s.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::report::Target;
use super::{Ctx, DRILL_EMAIL, DRILL_PASSWORD, Outcome, ReadBack};
use crate::delivery::free_loopback_addr;
use crate::rig::{api, pg, stack};

const REPLICA: &str = "replica1";

pub fn run(ctx: &mut Ctx) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut primary = pg::Cluster::init(
        &ctx.work,
        "primary",
        &[
            ("wal_level", "replica".into()),
            ("max_wal_senders", "5".into()),
            ("synchronous_commit", "on".into()),
            ("synchronous_standby_names", REPLICA.into()),
        ],
    )?;
    primary.start()?;
    let mut replica = pg::Cluster::replica_of(&primary, &ctx.work, REPLICA)?;
    replica.start()?;
    wait_sync(&primary)?;
    primary.psql("postgres", "CREATE DATABASE userhub")?;

    let front = free_loopback_addr()?;
    let mut options = stack::Options::new(
        &ctx.binary.clone(),
        format!("postgres://postgres@{front}/userhub"),
        2,
        false,
    );
    options.api_env = super::drain_env();
    options.postgres = vec![
        ("primary".into(), primary.addr(), false),
        (REPLICA.into(), replica.addr(), true),
    ];
    options.postgres_bind = Some(front);
    let stack = stack::Stack::start(&options, &ctx.work)?;
    api::signup_login(stack.haproxy.http, DRILL_EMAIL, DRILL_PASSWORD)?;

    let seconds = ctx.pick(40, 24);
    let url = stack.haproxy.url();
    let running = ctx.k6(
        "failover",
        &url,
        (DRILL_EMAIL, DRILL_PASSWORD),
        30,
        10,
        seconds,
    )?;
    std::thread::sleep(Duration::from_secs(seconds / 3));
    ctx.check_deadline()?;
    ctx.event("kill -9 primary");
    let killed = crate::rig::now_ms();
    primary.kill9()?;
    let promote = Instant::now();
    replica.promote()?;
    let promoted_in = promote.elapsed();
    ctx.event("replica promoted");
    stack
        .haproxy
        .wait_server("postgres", "primary", "DOWN", Duration::from_secs(10))?;
    let (run, samples, acks) = ctx.finish("failover", running)?;

    let ReadBack { stored, lost } = super::read_back(stack.haproxy.http, &acks)?;
    let after = acks.iter().filter(|a| a.sent > killed).count();
    outcome.targets.push(Target::new(
        "acknowledged writes lost",
        "0",
        format!(
            "{} of {} missing after promotion ({} acknowledged after the kill)",
            lost.len(),
            acks.len(),
            after
        ),
        lost.is_empty() && after > 0,
    ));
    let write_failures: Vec<i64> = samples
        .iter()
        .filter(|s| s.scenario == "writes" && s.status != 200)
        .map(|s| s.at_ms)
        .collect();
    let window = match (write_failures.iter().min(), write_failures.iter().max()) {
        (Some(first), Some(last)) => last - first,
        _ => 0,
    };
    let before_kill = write_failures.iter().filter(|at| **at < killed).count();
    outcome.targets.push(Target::new(
        "write errors confined",
        "≤ 10 s, none before the kill",
        format!(
            "{} failed writes within {:.1} s ({} before the kill); promotion took {} ms",
            write_failures.len(),
            window as f64 / 1000.0,
            before_kill,
            promoted_in.as_millis()
        ),
        window <= 10_000 && before_kill == 0,
    ));
    outcome.details = serde_json::json!({
        "acknowledged": acks.len(),
        "stored": stored,
        "lost": lost,
        "failed_writes": write_failures.len(),
        "write_error_window_ms": window,
        "promote_ms": promoted_in.as_millis() as u64,
        "replication": "synchronous (synchronous_commit=on, synchronous_standby_names=replica1)",
    });
    outcome.runs.push(run);
    drop(stack);
    replica.stop("fast")?;
    Ok(outcome)
}

/// Wait until the replica streams synchronously.
fn wait_sync(primary: &pg::Cluster) -> Result<()> {
    let start = Instant::now();
    loop {
        let state = primary.psql(
            "postgres",
            &format!(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = '{REPLICA}'"
            ),
        )?;
        if state == "sync" {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!("{REPLICA} is not a synchronous standby after 30 s (state {state:?})");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
