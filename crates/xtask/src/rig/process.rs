//! One `userhub api` or `userhub web` process: start, readiness, signals,
//! restart on the same ports, memory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::delivery::{free_loopback_addr, http};
use crate::livestack::process::Supervised;

/// How long a process may take from spawn to `/readyz` 200.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What to run; kept so the process can be started again identically.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub binary: PathBuf,
    /// `api` or `web`.
    pub subcommand: &'static str,
    pub bind: SocketAddr,
    pub admin: SocketAddr,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

impl Spec {
    /// A spec on fresh loopback ports.
    pub fn new(
        name: &str,
        binary: &Path,
        subcommand: &'static str,
        env: Vec<(String, String)>,
        work: &Path,
    ) -> Result<Self> {
        Ok(Self {
            name: name.to_owned(),
            binary: binary.to_path_buf(),
            subcommand,
            bind: free_loopback_addr()?,
            admin: free_loopback_addr()?,
            env,
            log: work.join(format!("{name}.log")),
        })
    }
}

/// A running Userhub process; killed on drop.
#[derive(Debug)]
pub struct Userhub {
    pub spec: Spec,
    process: Option<Supervised>,
    /// Spawn to `/readyz` 200 of the last start.
    pub start_to_ready: Duration,
}

impl Userhub {
    /// Spawn and wait until `/readyz` on the main port answers 200.
    pub fn start(spec: Spec) -> Result<Self> {
        let mut process = Self {
            spec,
            process: None,
            start_to_ready: Duration::ZERO,
        };
        process.launch()?;
        Ok(process)
    }

    /// Start again on the same ports (after an exit or a kill).
    pub fn launch(&mut self) -> Result<()> {
        if self.is_running() {
            bail!("{} is still running", self.spec.name);
        }
        let started = Instant::now();
        let mut command = Command::new(&self.spec.binary);
        command
            .arg(self.spec.subcommand)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("USERHUB_BIND", self.spec.bind.to_string())
            .env("USERHUB_ADMIN_BIND", self.spec.admin.to_string())
            .env("USERHUB_LOG_FORMAT", "json")
            .envs(self.spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let log_dir = self
            .spec
            .log
            .parent()
            .context("log file without a directory")?;
        self.process = Some(Supervised::spawn(&self.spec.name, command, log_dir)?);
        self.wait_ready(READY_TIMEOUT)?;
        self.start_to_ready = started.elapsed();
        Ok(())
    }

    fn process(&mut self) -> Result<&mut Supervised> {
        self.process.as_mut().context("process not started")
    }

    /// Poll `/readyz` until 200; fails if the process exits first.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            if status(self.spec.bind, "/readyz") == Some(200) {
                return Ok(());
            }
            let process = self.process.as_mut().context("process not started")?;
            if let Some(exit) = process.exited()? {
                bail!(
                    "{} exited ({exit}) before /readyz answered 200; log {}:\n{}",
                    self.spec.name,
                    self.spec.log.display(),
                    process.log_tail(30)
                );
            }
            if start.elapsed() > timeout {
                bail!(
                    "{} not ready within {timeout:?}; log {}:\n{}",
                    self.spec.name,
                    self.spec.log.display(),
                    process.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(Supervised::pid)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.spec.bind)
    }

    /// Send a signal (`TERM`, `KILL`, …).
    pub fn signal(&mut self, signal: &str) -> Result<()> {
        self.process()?.signal(signal)
    }

    /// Wait for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        self.process()?.wait_exit(timeout)
    }

    /// `kill -9` and reap.
    pub fn kill9(&mut self) -> Result<()> {
        self.signal("KILL")?;
        self.wait_exit(Duration::from_secs(10))?
            .context("process survived SIGKILL for 10 s")?;
        Ok(())
    }

    /// Resident memory now, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        status_kib(self.pid()?, "VmRSS:")
    }

    /// Peak resident memory since start, KiB.
    pub fn hwm_kib(&self) -> Option<u64> {
        status_kib(self.pid()?, "VmHWM:")
    }

    /// Whether the process is still running (has not exited).
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(Supervised::is_running)
    }
}

impl Drop for Userhub {
    fn drop(&mut self) {
        // The drills tear down at once; graceful stops are their subject.
        if let Some(process) = self.process.as_mut() {
            process.kill();
        }
    }
}

/// Status of `GET path` on a loopback address, or None when nothing answered.
pub fn status(addr: SocketAddr, path: &str) -> Option<u16> {
    http::get(addr, path, &[]).ok().map(|r| r.status)
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub use crate::livestack::process::tail;

/// One probe: unix ms, index of the address, status (None: no answer).
pub type Probe = (i64, usize, Option<u16>);

/// Polls `GET path` on each address every `every`, one thread per address
/// (a slow answer from one must not delay the probes of another), recording
/// every probe with the instant its answer arrived, until stopped.
#[derive(Debug)]
pub struct Prober {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<Vec<Probe>>>,
}

impl Prober {
    pub fn start(addrs: Vec<SocketAddr>, path: &'static str, every: Duration) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = addrs
            .into_iter()
            .enumerate()
            .map(|(i, addr)| {
                let flag = std::sync::Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                        let status = http::quick_status(addr, path, Duration::from_secs(2));
                        seen.push((super::now_ms(), i, status));
                        std::thread::sleep(every);
                    }
                    seen
                })
            })
            .collect();
        Self { stop, threads }
    }

    /// Every probe, in time order.
    pub fn finish(mut self) -> Vec<Probe> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut all: Vec<Probe> = self
            .threads
            .drain(..)
            .filter_map(|t| t.join().ok())
            .flatten()
            .collect();
        all.sort_by_key(|p| p.0);
        all
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
