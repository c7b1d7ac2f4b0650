//! `cargo xtask bench telemetry [SECONDS ROUNDS]`: builds the release
//! server and the OTLP sink and runs
//! `observability/bench/telemetry-overhead.sh` (export on versus off, and
//! `/metrics` scrape times under load; results in `docs/observability.md`).

use anyhow::Result;

use crate::cmd;

/// `[SECONDS_PER_RUN ROUNDS]`: both or neither.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds each run measures
    #[arg(value_name = "SECONDS_PER_RUN", default_value_t = 8, requires = "rounds", value_parser = clap::value_parser!(u32).range(3..=60))]
    pub seconds: u32,
    /// Rounds of export on versus off
    #[arg(default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub rounds: u32,
}

pub fn run(args: &Args) -> Result<()> {
    let (seconds, rounds) = (args.seconds.to_string(), args.rounds.to_string());
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
