//! The Docker engine: found or installed and started, stopped again if we started it.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::cmd;

/// A reachable Docker engine. Stops `dockerd` on drop when this process started it.
#[derive(Debug)]
pub struct Engine {
    started: Option<Child>,
}

impl Engine {
    /// Uses the running engine, or installs `docker.io` if needed and starts `dockerd`.
    pub fn ensure(log_dir: &Path) -> Result<Self> {
        if cmd::which("docker").is_none() || cmd::which("dockerd").is_none() {
            cmd::ensure_apt("dockerd", &["docker.io"])?;
        }
        if responds() {
            eprintln!("docker: using the running engine");
            return Ok(Self { started: None });
        }
        std::fs::create_dir_all(log_dir)?;
        let log_path = log_dir.join("dockerd.log");
        let log =
            File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        eprintln!("docker: starting dockerd (log: {})", log_path.display());
        let child = Command::new("dockerd")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting dockerd (this needs root)")?;
        let mut engine = Self {
            started: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if responds() {
                return Ok(engine);
            }
            if let Some(child) = engine.started.as_mut()
                && let Some(status) = child.try_wait()?
            {
                engine.started = None;
                let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!(
                    "dockerd exited with {status} during start-up:\n{}",
                    last_lines(&tail, 20)
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
        bail!(
            "dockerd did not answer within 60 s:\n{}",
            last_lines(&tail, 20)
        )
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let Some(mut child) = self.started.take() else {
            return;
        };
        eprintln!(
            "docker: stopping the dockerd this run started (pid {})",
            child.id()
        );
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn responds() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Removes a container, ignoring "no such container".
pub fn remove_container(name: &str) {
    let _ = Command::new("docker")
        .args(["rm", "-f", name])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `docker inspect -f <format> <object>`.
pub fn inspect(object: &str, format: &str) -> Result<String> {
    cmd::capture(Command::new("docker").args(["inspect", "-f", format, object]))
}
