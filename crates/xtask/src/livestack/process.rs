//! Child processes of a live stack and of the load/drill rig: output
//! appended to a log file, signals, exit, stopped on drop (SIGTERM, then
//! SIGKILL after a grace period), even when a test fails.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// How long a stopped process gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A child process owned by the stack; it never outlives this value.
#[derive(Debug)]
pub struct Supervised {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Supervised {
    /// Spawns `command` with stdin closed and stdout + stderr appended to
    /// `<log_dir>/<name>.log` (a process started again keeps one log).
    pub fn spawn(name: &str, mut command: Command, log_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        let log = log_dir.join(format!("{name}.log"));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("opening {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        eprintln!(
            "livestack: starting {name}: {}",
            crate::cmd::display(&command)
        );
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}: {}", crate::cmd::display(&command)))?;
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
            log,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the log (for error messages).
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Sends `signal` (`TERM`, `KILL`, …) with kill(1).
    pub fn signal(&self, signal: &str) -> Result<()> {
        let pid = self.pid().context("process not running")?;
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running kill")?;
        if !status.success() {
            anyhow::bail!("kill -{signal} {pid} failed: {status}");
        }
        Ok(())
    }

    /// The exit status, once the process has exited.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(child) => Ok(child.try_wait()?),
            None => Ok(None),
        }
    }

    /// Waits at most `timeout` for the process to exit; its status, or None.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.exited()? {
                return Ok(Some(status));
            }
            if start.elapsed() >= timeout {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills the process at once (SIGKILL): a crash, or a target going down.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            eprintln!("livestack: killing {} (pid {})", self.name, child.id());
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then SIGKILL after the grace period; idempotent.
    pub fn stop(&mut self) {
        if !self.is_running() {
            self.child = None;
            return;
        }
        let _ = self.signal("TERM");
        if matches!(self.wait_exit(STOP_GRACE), Ok(Some(_))) {
            self.child = None;
            return;
        }
        eprintln!(
            "livestack: {} ignored SIGTERM for {STOP_GRACE:?}: SIGKILL",
            self.name
        );
        self.kill();
    }
}

/// The last `lines` lines of a log file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_process_is_gone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut command = Command::new("sleep");
        command.arg("30");
        let mut process = Supervised::spawn("sleeper", command, dir.path()).expect("spawn");
        let pid = process.pid().expect("pid");
        assert!(process.is_running());
        drop(process);
        let alive = Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ");
        assert!(!alive, "pid {pid} still runs after drop");
    }
}
