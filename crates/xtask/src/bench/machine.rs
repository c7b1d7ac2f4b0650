//! Where the benchmark ran.

use std::process::Command;
use std::time::Duration;

use super::report::Context;
use super::scenarios::Plan;
use super::wrk;
use crate::cmd;

pub fn context(
    command: String,
    quick: bool,
    plan: Plan,
    total: Duration,
    load_before: String,
    commit: String,
) -> Context {
    Context {
        command,
        quick,
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit,
        nproc: std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(0),
        cpu: proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into()),
        memory: proc_field("/proc/meminfo", "MemTotal")
            .and_then(|kb| kb.trim_end_matches(" kB").trim().parse::<f64>().ok())
            .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown".into()),
        kernel: output(Command::new("uname").arg("-r")).unwrap_or_else(|| "unknown".into()),
        rustc: output(Command::new("rustc").arg("--version")).unwrap_or_else(|| "unknown".into()),
        wrk: wrk::version(),
        load_before,
        load_after: load_average(),
        plan,
        total,
    }
}

/// `HEAD` of the workspace, marked when the work tree has uncommitted changes.
pub fn commit() -> String {
    let root = cmd::workspace_root();
    let head =
        output(
            Command::new("git")
                .current_dir(&root)
                .args(["rev-parse", "--short=12", "HEAD"]),
        )
        .unwrap_or_else(|| "unknown".into());
    let dirty = output(Command::new("git").current_dir(&root).args([
        "status",
        "--porcelain",
        "--untracked-files=no",
    ]))
    .map(|status| !status.is_empty())
    .unwrap_or(false);
    if dirty {
        format!("{head} (with uncommitted changes)")
    } else {
        head
    }
}

fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn proc_field(path: &str, field: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|line| line.starts_with(field))?
        .split_once(':')
        .map(|(_, value)| value.trim().to_owned())
}

/// `/proc/loadavg`'s first three fields.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}
