//! `cargo xtask e2e`: the web UI's browser suite (`crates/userhub-web/e2e`).
//!
//! Installs Debian's Chromium when it is missing (apt), installs
//! `playwright-core` from the lockfile (npm ci), builds the `userhub`
//! binary, then runs `node --test` against `userhub serve` and split
//! `api` + `web` processes. Screenshots go to `artifacts/screenshots/`,
//! server logs to `artifacts/e2e-logs/`. Anything missing fails the run
//! with the reason; nothing is skipped.
//!
//! Options: `--mode serve|split` (default both); environment
//! `CHROMIUM_PATH` (default `/usr/bin/chromium`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The whole suite must finish within this.
const SUITE_DEADLINE: Duration = Duration::from_secs(8 * 60);

/// `cargo xtask e2e [--mode serve|split]` (default both).
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// One deployment only: `userhub serve`, or split `api` + `web` processes
    #[arg(long, value_parser = ["serve", "split"])]
    pub mode: Option<String>,
}

pub fn run(args: &Args) -> Result<()> {
    let modes = args
        .mode
        .clone()
        .unwrap_or_else(|| "serve,split".to_owned());
    let root = crate::cmd::workspace_root();
    let suite = root.join("crates/userhub-web/e2e");
    let chromium = ensure_chromium()?;
    ensure_node_modules(&suite)?;
    let bin = crate::cmd::build_userhub(false)?;
    let artifacts = root.join("artifacts");

    let mut node = Command::new("node");
    node.current_dir(&suite)
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "ui.test.mjs",
        ])
        .env("USERHUB_BIN", &bin)
        .env("E2E_ARTIFACTS", &artifacts)
        .env("E2E_MODES", &modes)
        .env("CHROMIUM_PATH", &chromium);
    run_with_deadline(node, SUITE_DEADLINE)?;
    println!(
        "e2e: screenshots in {}",
        artifacts.join("screenshots").display()
    );
    Ok(())
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Debian's Chromium, installed with apt when missing.
fn ensure_chromium() -> Result<PathBuf> {
    let path = PathBuf::from(
        std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
    );
    if !path.exists() {
        // apt-get as root, or through `sudo -n` on a non-root runner.
        println!("e2e: installing Chromium (apt-get install chromium)");
        crate::delivery::cmd::ensure_apt("chromium", &["chromium"])
            .context("installing Chromium with apt-get")?;
        if !path.exists() {
            bail!(
                "apt-get installed chromium but {} does not exist",
                path.display()
            );
        }
    }
    let version = Command::new(&path)
        .args(["--headless", "--no-sandbox", "--version"])
        .output()
        .with_context(|| format!("running {}", path.display()))?;
    if !version.status.success() {
        bail!(
            "Chromium at {} cannot start: {}",
            path.display(),
            String::from_utf8_lossy(&version.stderr).trim()
        );
    }
    println!("e2e: {}", String::from_utf8_lossy(&version.stdout).trim());
    Ok(path)
}

/// `playwright-core` from the lockfile (never a downloaded browser).
fn ensure_node_modules(suite: &Path) -> Result<()> {
    if !succeeds("node", &["--version"]) {
        bail!("Node.js is required for the browser suite (apt-get install nodejs npm)");
    }
    if suite
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return Ok(());
    }
    println!("e2e: npm ci in {}", suite.display());
    let status = Command::new("npm")
        .current_dir(suite)
        .args(["ci", "--no-audit", "--no-fund"])
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .status()
        .context("running npm (is npm installed?)")?;
    if !status.success() {
        bail!("npm ci failed in {}: {status}", suite.display());
    }
    Ok(())
}

fn run_with_deadline(mut command: Command, deadline: Duration) -> Result<()> {
    let start = Instant::now();
    let mut child = command
        .spawn()
        .context("starting node (is Node.js installed?)")?;
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                println!("e2e: passed in {:.0} s", start.elapsed().as_secs_f64());
                return Ok(());
            }
            bail!("browser suite failed ({status}); server logs in artifacts/e2e-logs/");
        }
        if start.elapsed() > deadline {
            // SIGTERM first: the suite stops its servers before exiting.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let grace = Instant::now();
            while grace.elapsed() < Duration::from_secs(15) && child.try_wait()?.is_none() {
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "browser suite exceeded {} s and was stopped",
                deadline.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
