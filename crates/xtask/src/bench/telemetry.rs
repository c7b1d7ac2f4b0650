//! `cargo xtask bench telemetry [SECONDS ROUNDS]`: builds the release
//! server and the OTLP sink and runs
//! `observability/bench/telemetry-overhead.sh` (export on versus off, and
//! `/metrics` scrape times under load; results in `docs/observability.md`).

use anyhow::{Context, Result, bail};

use crate::cmd;

pub fn run(args: &[String]) -> Result<()> {
    let (seconds, rounds) = match args {
        [] => ("8", "10"),
        [seconds, rounds] => (seconds.as_str(), rounds.as_str()),
        _ => bail!("usage: cargo xtask bench telemetry [SECONDS_PER_RUN ROUNDS]"),
    };
    bounded("SECONDS_PER_RUN", seconds, 3..=60)?;
    bounded("ROUNDS", rounds, 1..=30)?;
    cmd::timed("install load generator", super::wrk::ensure_installed)?;
    let mut server = cmd::cargo();
    server.args(["build", "--release", "-p", "userhub", "--bin", "userhub"]);
    cmd::run(server)?;
    let mut sink = cmd::cargo();
    sink.args([
        "build",
        "--release",
        "-p",
        "userhub-telemetry",
        "--features",
        "testing",
        "--example",
        "otlp_sink",
    ]);
    cmd::run(sink)?;
    let root = cmd::workspace_root();
    let mut bench = std::process::Command::new("bash");
    bench
        .arg(root.join("observability/bench/telemetry-overhead.sh"))
        .args([seconds, rounds])
        .current_dir(&root);
    cmd::run(bench)
}

fn bounded(name: &str, value: &str, range: std::ops::RangeInclusive<u32>) -> Result<()> {
    let n: u32 = value
        .parse()
        .with_context(|| format!("{name} must be a whole number, got `{value}`"))?;
    if !range.contains(&n) {
        bail!("{name} must be in {range:?}, got {n}");
    }
    Ok(())
}
