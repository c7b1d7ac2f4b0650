//! Running child processes: echoed, timed, interruptible.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `cargo` (the one running us, when known) in the workspace root.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

/// Builds the `userhub` binary (debug, or release) and returns its path.
///
/// Without `-p`: features then resolve as for the whole workspace, as in
/// the test run, so the test step's dependencies are reused instead of
/// being built a second time with another feature set.
pub fn build_userhub(release: bool) -> Result<PathBuf> {
    let mut build = cargo();
    build.args(["build", "--bin", "userhub"]);
    if release {
        build.arg("--release");
    }
    run(build)?;
    let profile = if release { "release" } else { "debug" };
    let bin = crate::delivery::target_dir().join(profile).join("userhub");
    if !bin.exists() {
        bail!("built userhub but {} does not exist", bin.display());
    }
    Ok(bin)
}

/// Whether `cargo <subcommand> --version` works.
pub fn cargo_has(subcommand: &str) -> bool {
    cargo()
        .args([subcommand, "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

/// Human-readable command line.
pub fn display(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Run `command`, echoing it, and fail unless it succeeds.
pub fn run(command: Command) -> Result<()> {
    let line = display(&command);
    let status = status(command)?;
    if !status.success() {
        bail!("`{line}` failed: {status}");
    }
    Ok(())
}

/// Run `command` to completion, echoing it. Ctrl-C / SIGTERM stop the child
/// and return an error, so callers unwind and their guards (a test
/// PostgreSQL cluster, a benchmark server) clean up.
pub fn status(command: Command) -> Result<ExitStatus> {
    let line = display(&command);
    println!("$ {line}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building a tokio runtime")?;
    runtime.block_on(async move {
        let mut command = tokio::process::Command::from(command);
        command.kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("spawning `{line}`"))?;
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("installing the SIGTERM handler")?;
        tokio::select! {
            status = child.wait() => {
                let status = status.with_context(|| format!("waiting for `{line}`"))?;
                // Killed by the terminal's Ctrl-C (sent to the whole process group) or SIGTERM.
                if matches!(status.signal(), Some(2 | 15)) {
                    bail!("interrupted: `{line}` was stopped by {status}");
                }
                Ok(status)
            }
            _ = tokio::signal::ctrl_c() => {
                stop(&mut child).await;
                bail!("interrupted (Ctrl-C) while running `{line}`")
            }
            _ = terminate.recv() => {
                stop(&mut child).await;
                bail!("terminated (SIGTERM) while running `{line}`")
            }
        }
    })
}

async fn stop(child: &mut tokio::process::Child) {
    // The child got the terminal's SIGINT too; give it a moment to exit cleanly.
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// Time a phase and print how long it took.
pub fn timed<T>(name: &str, phase: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("==> {name}");
    let start = Instant::now();
    let result = phase();
    let outcome = if result.is_ok() { "ok" } else { "FAILED" };
    println!(
        "==> {name}: {outcome} in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    result
}
