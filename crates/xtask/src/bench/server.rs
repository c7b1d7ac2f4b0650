//! The `userhub api` process under test: start, readiness, memory, stop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rand::Rng;

use crate::delivery::{free_loopback_addr, http};
use crate::livestack::process::tail;
use crate::rig::process::status_kib;

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Superuser created by the server on first start.
pub const SUPERUSER: &str = "bench-admin@example.com";

/// What [`Server::start_under`] starts (each attempt the same).
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    /// Program and arguments the command is prefixed with (valgrind), or none.
    pub wrapper: &'a [&'a str],
    /// How long start-up may take until `/readyz` answers 200.
    pub ready_timeout: Duration,
    pub binary: &'a Path,
    pub database_url: &'a str,
    pub log: &'a Path,
}

impl<'a> Launch<'a> {
    /// `binary api` itself, ready within 60 s.
    pub fn new(binary: &'a Path, database_url: &'a str, log: &'a Path) -> Self {
        Self {
            wrapper: &[],
            ready_timeout: READY_TIMEOUT,
            binary,
            database_url,
            log,
        }
    }
}

/// A running server; killed on drop if not stopped.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub start_to_ready: Duration,
    log: PathBuf,
    superuser_password: String,
}

impl Server {
    /// Spawn `binary api` on a free port with `database_url`, wait for `/readyz`.
    pub fn start(binary: &Path, database_url: &str, log: &Path) -> Result<Self> {
        Self::start_under(Launch::new(binary, database_url, log))
    }

    /// [`Server::start`] as `launch` says (a wrapper such as valgrind, a
    /// longer start-up); tried again when the port was taken meanwhile.
    pub fn start_under(launch: Launch<'_>) -> Result<Self> {
        let mut last_error = None;
        for _ in 0..3 {
            match Self::try_start(&launch) {
                Ok(server) => return Ok(server),
                Err(error) => {
                    let text = std::fs::read_to_string(launch.log).unwrap_or_default();
                    if !text.contains("in use") {
                        return Err(error);
                    }
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("server did not start")))
    }

    fn try_start(launch: &Launch<'_>) -> Result<Self> {
        let (binary, log) = (launch.binary, launch.log);
        let addr = free_loopback_addr()?;
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let secret: String = (0..32)
            .map(|_| format!("{:02x}", rand::thread_rng().r#gen::<u8>()))
            .collect();
        let password: String = (0..12)
            .map(|_| format!("{:02x}", rand::thread_rng().r#gen::<u8>()))
            .collect();
        let started = Instant::now();
        let mut command = match launch.wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        let mut child = command
            .arg("api")
            .env("ENVIRONMENT", "production")
            .env("SECRET_KEY", secret)
            .env("USERHUB_BIND", addr.to_string())
            .env("DATABASE_URL", launch.database_url)
            .env("FIRST_SUPERUSER", SUPERUSER)
            .env("FIRST_SUPERUSER_PASSWORD", &password)
            .env("USERHUB_IP_BURST", "100000000")
            .env("USERHUB_LOGIN_MAX_FAILURES", "1000000")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().context("cloning the log handle")?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("spawning {} api", binary.display()))?;
        loop {
            if http::quick_status(addr, "/readyz", Duration::from_secs(2)) == Some(200) {
                return Ok(Self {
                    child: Some(child),
                    addr,
                    start_to_ready: started.elapsed(),
                    log: log.to_path_buf(),
                    superuser_password: password,
                });
            }
            if let Some(status) = child.try_wait().context("polling the server")? {
                bail!(
                    "server exited ({status}) before /readyz answered 200; log {}:\n{}",
                    log.display(),
                    tail(log, 30)
                );
            }
            if started.elapsed() > launch.ready_timeout {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "server on {addr} not ready (GET /readyz != 200) within {:?}; log {}:\n{}",
                    launch.ready_timeout,
                    log.display(),
                    tail(log, 30)
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// The password of [`SUPERUSER`], generated for this server.
    pub fn superuser_password(&self) -> &str {
        &self.superuser_password
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop (SIGTERM), then SIGKILL after 10 s.
    pub fn stop(mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().context("killing the server")?;
        child.wait()?;
        bail!(
            "server did not stop within 10 s of SIGTERM; killed. log {}:\n{}",
            self.log.display(),
            tail(&self.log, 30)
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Peak resident memory of a process over a period.
///
/// Resets the kernel's high-water mark (`/proc/PID/clear_refs` = 5) at the
/// start, polls `VmRSS` every 20 ms meanwhile, and at the end takes the
/// larger of the polled maximum and `VmHWM`.
#[derive(Debug)]
pub struct RssWatch {
    pid: u32,
    stop: Arc<AtomicBool>,
    max_kb: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl RssWatch {
    pub fn start(pid: u32) -> Self {
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        let stop = Arc::new(AtomicBool::new(false));
        let max_kb = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, max_kb) = (Arc::clone(&stop), Arc::clone(&max_kb));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(kb) = status_kib(pid, "VmRSS:") {
                        max_kb.fetch_max(kb, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Self {
            pid,
            stop,
            max_kb,
            thread: Some(thread),
        }
    }

    /// Peak RSS in MiB since `start`.
    pub fn finish(mut self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let hwm = status_kib(self.pid, "VmHWM:").unwrap_or(0);
        hwm.max(self.max_kb.load(Ordering::Relaxed)) as f64 / 1024.0
    }
}
