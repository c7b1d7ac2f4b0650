//! `cargo xtask test`: the whole test suite against a throwaway PostgreSQL.

use anyhow::{Context, Result, bail};
use userhub_testkit::TestPostgres;
use userhub_testkit::postgres::ENV_URL;

use crate::cmd;

/// `cargo xtask test [RUNNER ARGS...]`.
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Passed to `cargo nextest run` (or `cargo test`), e.g. `-E 'test(login)'` or `-- items`; any skips the browser suite
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "RUNNER ARGS"
    )]
    pub runner: Vec<String>,
}

pub fn run(args: &Args) -> Result<()> {
    let args = &args.runner;
    let (_cluster, url) = match std::env::var(ENV_URL) {
        Ok(url) if !url.trim().is_empty() => {
            println!("xtask test: using PostgreSQL from {ENV_URL}");
            (None, url)
        }
        _ => {
            let cluster = TestPostgres::start().context(
                "PostgreSQL could not be started for the test run (tests needing it would fail)",
            )?;
            let url = cluster.admin_url();
            println!("xtask test: started throwaway PostgreSQL at {url}");
            (Some(cluster), url)
        }
    };

    let mut failures = Vec::new();
    let mut tests = cmd::cargo();
    if cmd::cargo_has("nextest") {
        tests.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        println!("xtask test: cargo-nextest not found, falling back to `cargo test`");
        tests.args(["test", "--workspace", "--no-fail-fast"]);
    }
    tests.args(args).env(ENV_URL, &url);
    if let Err(error) = cmd::timed("tests", || cmd::run(tests)) {
        if is_interrupt(&error) {
            return Err(error);
        }
        failures.push(error);
    }

    let mut doctests = cmd::cargo();
    doctests
        .args(["test", "--workspace", "--doc"])
        .env(ENV_URL, &url);
    if let Err(error) = cmd::timed("doctests", || cmd::run(doctests)) {
        failures.push(error);
    }

    // The browser suite belongs to "every test"; a filtered run (extra
    // args) is a developer narrowing down, so it stops at the Rust tests.
    if args.is_empty()
        && let Err(error) = cmd::timed("browser e2e", || {
            crate::e2e::run(&crate::e2e::Args::default())
        })
    {
        failures.push(error);
    }

    if !failures.is_empty() {
        let reasons: Vec<String> = failures.iter().map(|e| format!("{e:#}")).collect();
        bail!("{}", reasons.join("; "));
    }
    Ok(())
    // `_cluster` drops here (and on every early return): the cluster stops.
}

fn is_interrupt(error: &anyhow::Error) -> bool {
    let text = error.to_string();
    text.starts_with("interrupted") || text.starts_with("terminated")
}
