//! `cargo xtask ci`: the pipeline `.ci/run` and hosted CI execute.
//!
//! A list of steps run in order, stopping at the first failure. To add a
//! step, add one line to [`STEPS`].

use std::time::Instant;

use anyhow::Result;

use crate::cmd;
use crate::rig::binary::SourceArgs;

type Step = (&'static str, fn() -> Result<()>);

const STEPS: &[Step] = &[
    ("fmt", fmt),
    ("clippy", clippy),
    ("test", || crate::test::run(&crate::test::Args::default())),
    ("deny", crate::deny::run),
    // Every schemathesis check and phase on both databases in 60 s each
    // (the command alone: 25 examples per operation in 150 s each).
    ("schemathesis", || {
        crate::schemathesis::run(&crate::schemathesis::Args {
            backend: None,
            max_examples: 10,
            max_time: 60,
        })
    }),
    ("lint_delivery", crate::lint_delivery::run),
    ("observability", || {
        crate::observability::run(&crate::observability::Args::default())
    }),
    ("k8s", || crate::k8s::run(&crate::k8s::Args::default())),
    (
        "image",
        || crate::image::run(&crate::image::Args::default()),
    ),
    // Load and resilience gates on the static binary the image step built.
    ("load_smoke", || {
        crate::load::run(&crate::load::Args {
            scenario: "smoke".to_owned(),
            no_record: true,
            binary: shipped(),
        })
    }),
    ("drill_crash", || short_drill("crash")),
    ("drill_rolling", || short_drill("rolling-restart")),
    ("drill_db_outage", || short_drill("db-outage")),
    // Terraform, cloud-init and Ansible checks, then the molecule platform
    // scenario: common, hardening, node_exporter, loadbalancer and postgresql
    // converged on one container, a second converge that must change
    // nothing, and the verify playbooks. The base image builds while the
    // linters run. k3s (needs its release from GitHub) converges in hosted CI.
    (
        "infra",
        || crate::infra::run(&crate::infra::Args::default()),
    ),
];

/// `--binary <the static musl binary of the image step>`.
fn shipped() -> SourceArgs {
    SourceArgs::path(crate::image::static_binary_path())
}

/// `drill NAME --short --binary <the shipped binary>`.
fn short_drill(name: &str) -> Result<()> {
    crate::drill::run(&crate::drill::Args {
        name: name.to_owned(),
        short: true,
        binary: shipped(),
    })
}

pub fn run() -> Result<()> {
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
