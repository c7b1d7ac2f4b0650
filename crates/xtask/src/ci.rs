//! `cargo xtask ci`: the pipeline `.ci/run` and hosted CI execute.
//!
//! A list of steps run in order, stopping at the first failure. To add a
//! step, add one line to [`STEPS`].

use std::time::Instant;

use anyhow::{Result, bail};

use crate::cmd;

pub const ABOUT: &str = "format check, clippy, every test incl. browser e2e, cargo-deny, schemathesis, delivery lint, observability, Kubernetes packaging, image, k6 smoke, short drills, infrastructure code (the CI pipeline)";

type Step = (&'static str, fn() -> Result<()>);

const STEPS: &[Step] = &[
    ("fmt", fmt),
    ("clippy", clippy),
    ("test", || crate::test::run(&[])),
    ("deny", || crate::deny::run(&[])),
    // Every schemathesis check and phase on both databases in 60 s each
    // (the command alone: 25 examples per operation in 150 s each).
    ("schemathesis", || {
        crate::schemathesis::run(&["--max-examples", "10", "--max-time", "60"].map(String::from))
    }),
    ("lint_delivery", || crate::lint_delivery::run(&[])),
    ("observability", || crate::observability::run(&[])),
    ("k8s", || crate::k8s::run(&[])),
    ("image", || crate::image::run(&[])),
    // Load and resilience gates on the static binary the image step built.
    ("load_smoke", || {
        crate::load::run(&shipped(&["smoke", "--no-record"]))
    }),
    ("drill_crash", || {
        crate::drill::run(&shipped(&["crash", "--short"]))
    }),
    ("drill_rolling", || {
        crate::drill::run(&shipped(&["rolling-restart", "--short"]))
    }),
    ("drill_db_outage", || {
        crate::drill::run(&shipped(&["db-outage", "--short"]))
    }),
    // Terraform, cloud-init and Ansible checks, then the molecule platform
    // scenario: common, hardening, node_exporter, loadbalancer and postgresql
    // converged on one container, a second converge that must change
    // nothing, and the verify playbooks. The base image builds while the
    // linters run. k3s (needs its release from GitHub) converges in hosted CI.
    ("infra", || crate::infra::run(&[])),
];

/// `args` plus `--binary <the static musl binary of the image step>`.
fn shipped(args: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    args.push("--binary".to_owned());
    args.push(crate::image::static_binary_path().display().to_string());
    args
}

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`ci` takes no arguments (got `{arg}`)");
    }
    let start = Instant::now();
    let mut timings = Vec::new();
    let mut outcome = Ok(());
    for (name, step) in STEPS {
        let step_start = Instant::now();
        let result = cmd::timed(&format!("ci step {name}"), step);
        timings.push((name, step_start.elapsed(), result.is_ok()));
        if let Err(error) = result {
            outcome = Err(error.context(format!("ci step `{name}` failed")));
            break;
        }
    }
    println!("\nci summary:");
    for (name, took, ok) in &timings {
        let mark = if *ok { "ok" } else { "FAILED" };
        println!("  {name:<16} {mark:<6} {:>7.1} s", took.as_secs_f64());
    }
    for (name, _) in STEPS.iter().skip(timings.len()) {
        println!("  {name:<16} not run");
    }
    println!(
        "  total                     {:>7.1} s",
        start.elapsed().as_secs_f64()
    );
    outcome
}

fn fmt() -> Result<()> {
    let mut command = cmd::cargo();
    command.args(["fmt", "--all", "--check"]);
    cmd::run(command)
}

fn clippy() -> Result<()> {
    let mut command = cmd::cargo();
    command.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    cmd::run(command)
}
