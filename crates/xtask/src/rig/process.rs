//! One `userhub api` or `userhub web` process: start, readiness, signals,
//! restart on the same ports, memory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::delivery::{free_loopback_addr, http};

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
    child: Option<Child>,
    /// Spawn to `/readyz` 200 of the last start.
    pub start_to_ready: Duration,
}

impl Userhub {
    /// Spawn and wait until `/readyz` on the main port answers 200.
    pub fn start(spec: Spec) -> Result<Self> {
        let mut process = Self {
            spec,
            child: None,
            start_to_ready: Duration::ZERO,
        };
        process.launch()?;
        Ok(process)
    }

    /// Start again on the same ports (after an exit or a kill).
    pub fn launch(&mut self) -> Result<()> {
        if let Some(child) = self.child.as_mut()
            && child.try_wait()?.is_none()
        {
            bail!("{} is still running", self.spec.name);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.spec.log)
            .with_context(|| format!("opening {}", self.spec.log.display()))?;
        let started = Instant::now();
        let mut command = Command::new(&self.spec.binary);
        command
            .arg(self.spec.subcommand)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("USERHUB_BIND", self.spec.bind.to_string())
            .env("USERHUB_ADMIN_BIND", self.spec.admin.to_string())
            .env("USERHUB_LOG_FORMAT", "json")
            .envs(self.spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = command.spawn().with_context(|| {
            format!(
                "spawning {} {}",
                self.spec.binary.display(),
                self.spec.subcommand
            )
        })?;
        self.child = Some(child);
        self.wait_ready(READY_TIMEOUT)?;
        self.start_to_ready = started.elapsed();
        Ok(())
    }

    /// Poll `/readyz` until 200; fails if the process exits first.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            if status(self.spec.bind, "/readyz") == Some(200) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(exit) = child.try_wait()?
            {
                bail!(
                    "{} exited ({exit}) before /readyz answered 200; log {}:\n{}",
                    self.spec.name,
                    self.spec.log.display(),
                    tail(&self.spec.log, 30)
                );
            }
            if start.elapsed() > timeout {
                bail!(
                    "{} not ready within {timeout:?}; log {}:\n{}",
                    self.spec.name,
                    self.spec.log.display(),
                    tail(&self.spec.log, 30)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.spec.bind)
    }

    /// Send a signal (`TERM`, `KILL`, …) with kill(1).
    pub fn signal(&self, signal: &str) -> Result<()> {
        let pid = self.pid().context("process not started")?;
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -{signal} {pid} failed: {status}");
        }
        Ok(())
    }

    /// Wait for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let child = self.child.as_mut().context("process not started")?;
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = child.try_wait()? {
                return Ok(Some(status));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(None)
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
}

impl Drop for Userhub {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Status of `GET path` on a loopback address, or None when nothing answered.
pub fn status(addr: SocketAddr, path: &str) -> Option<u16> {
    http::get(addr, path, &[]).ok().map(|r| r.status)
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The last `lines` lines of a file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Status of `GET path` with a short deadline (connect + answer), or None.
pub fn quick_status(addr: SocketAddr, path: &str, deadline: Duration) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, deadline).ok()?;
    stream.set_read_timeout(Some(deadline)).ok()?;
    stream.set_write_timeout(Some(deadline)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// One probe: unix ms, index of the address, status (None: no answer).
pub type Probe = (i64, usize, Option<u16>);

/// Polls `GET path` on each address every `every` in a thread, recording
/// every probe until stopped.
#[derive(Debug)]
pub struct Prober {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<Probe>>>,
}

impl Prober {
    pub fn start(addrs: Vec<SocketAddr>, path: &'static str, every: Duration) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                for (i, addr) in addrs.iter().enumerate() {
                    let status = quick_status(*addr, path, Duration::from_secs(2));
                    seen.push((super::now_ms(), i, status));
                }
                std::thread::sleep(every);
            }
            seen
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    pub fn finish(mut self) -> Vec<Probe> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Userhub {
    /// Whether the process is still running (has not exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }
}
