//! HAProxy (Debian package) in front of the replicas: `/api/…` and `/docs`
//! to the API replicas, everything else to the web service, and optionally
//! a TCP front for PostgreSQL (primary, replica as backup) for failover.
//!
//! The configuration is rendered from `loadtest/haproxy.cfg.in`, which is
//! also the documented production-shaped example (docs/load.md).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd;
use crate::delivery::cmd as tool;
use crate::delivery::{free_loopback_addr, http};

/// Which endpoint the load balancer's health check asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `/readyz`: a replica whose database is unreachable leaves the pool.
    Readyz,
    /// `/livez`: only a dead process leaves the pool (db-outage drill: the
    /// service's own answers are what is measured).
    Livez,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub api: Vec<(String, SocketAddr)>,
    pub web: Option<SocketAddr>,
    /// PostgreSQL servers: (name, address, is_backup).
    pub postgres: Vec<(String, SocketAddr, bool)>,
    /// Where the PostgreSQL front listens (chosen by the caller, who must
    /// give it to Userhub before HAProxy starts), else a free port.
    pub postgres_bind: Option<SocketAddr>,
    pub check: Check,
    /// Concurrent requests per API replica; the excess waits in HAProxy's
    /// queue for at most `queue_timeout`, then gets 503 + Retry-After.
    pub api_maxconn: u32,
    pub queue_timeout: Duration,
}

impl Config {
    pub fn new(api: Vec<(String, SocketAddr)>, web: Option<SocketAddr>) -> Self {
        Self {
            api,
            web,
            postgres: Vec::new(),
            postgres_bind: None,
            check: Check::Readyz,
            api_maxconn: 64,
            queue_timeout: Duration::from_secs(2),
        }
    }
}

/// A running HAProxy; stopped on drop.
#[derive(Debug)]
pub struct Haproxy {
    child: Option<Child>,
    pub http: SocketAddr,
    pub stats: SocketAddr,
    log: PathBuf,
}

pub fn ensure_installed() -> Result<PathBuf> {
    tool::ensure_apt("haproxy", &["haproxy"])
}

impl Haproxy {
    pub fn start(config: &Config, work: &Path) -> Result<Self> {
        let binary = ensure_installed()?;
        let http = free_loopback_addr()?;
        let stats = free_loopback_addr()?;
        let postgres = match (config.postgres.is_empty(), config.postgres_bind) {
            (true, _) => None,
            (false, Some(bind)) => Some(bind),
            (false, None) => Some(free_loopback_addr()?),
        };
        let errorfile = work.join("haproxy-503.http");
        std::fs::write(&errorfile, ERROR_503).context("writing the 503 error file")?;
        let text = render(config, http, stats, postgres, &errorfile)?;
        let cfg = work.join("haproxy.cfg");
        std::fs::write(&cfg, &text).context("writing haproxy.cfg")?;
        let check = Command::new(&binary)
            .arg("-c")
            .arg("-q")
            .arg("-f")
            .arg(&cfg)
            .output()?;
        if !check.status.success() {
            bail!(
                "haproxy -c rejected {}:\n{}{}",
                cfg.display(),
                String::from_utf8_lossy(&check.stdout),
                String::from_utf8_lossy(&check.stderr)
            );
        }
        let log = work.join("haproxy.log");
        let out = std::fs::File::create(&log)?;
        let child = Command::new(&binary)
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("spawning haproxy")?;
        let mut haproxy = Self {
            child: Some(child),
            http,
            stats,
            log,
        };
        let start = Instant::now();
        while haproxy.servers().is_err() {
            if let Some(child) = haproxy.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "haproxy exited ({status}):\n{}",
                    super::process::tail(&haproxy.log, 20)
                );
            }
            if start.elapsed() > Duration::from_secs(20) {
                bail!("haproxy's stats page did not answer within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        println!("haproxy on http://{http} (stats http://{stats}/stats)");
        Ok(haproxy)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Server states from the stats CSV.
    pub fn servers(&self) -> Result<Vec<ServerState>> {
        let response = http::get(self.stats, "/stats;csv", &[])?;
        let mut servers = Vec::new();
        for line in response.body.lines().filter(|l| !l.starts_with('#')) {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() > 17 && fields[1] != "FRONTEND" && fields[1] != "BACKEND" {
                servers.push(ServerState {
                    backend: fields[0].to_owned(),
                    server: fields[1].to_owned(),
                    status: fields[17].to_owned(),
                });
            }
        }
        Ok(servers)
    }

    /// Wait until every server of `backend` is UP.
    pub fn wait_backend_up(&self, backend: &str, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            let servers = self.servers()?;
            if servers
                .iter()
                .filter(|s| s.backend == backend)
                .all(|s| s.status == "UP")
            {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!("haproxy: {backend} servers not UP within {timeout:?}: {servers:?}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Wait until `server` of `backend` has `status` (`UP`, `DOWN`, …).
    pub fn wait_server(
        &self,
        backend: &str,
        server: &str,
        status: &str,
        timeout: Duration,
    ) -> Result<Duration> {
        let start = Instant::now();
        loop {
            let servers = self.servers()?;
            if servers
                .iter()
                .any(|s| s.backend == backend && s.server == server && s.status.starts_with(status))
            {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                bail!("haproxy: {backend}/{server} not {status} within {timeout:?}: {servers:?}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerState {
    pub backend: String,
    pub server: String,
    pub status: String,
}

/// HAProxy's own 503 (no server, queue timeout) in the API's error shape,
/// with `Retry-After` like the service's.
const ERROR_503: &str = "HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: application/json\r\n\
Retry-After: 1\r\n\
Cache-Control: no-store\r\n\
Connection: close\r\n\
\r\n\
{\"detail\":\"Service Unavailable\"}\n";

fn render(
    config: &Config,
    http: SocketAddr,
    stats: SocketAddr,
    postgres: Option<SocketAddr>,
    errorfile: &Path,
) -> Result<String> {
    let template_path = cmd::workspace_root().join("loadtest/haproxy.cfg.in");
    let template = std::fs::read_to_string(&template_path)
        .with_context(|| format!("reading {}", template_path.display()))?;
    let check_path = match config.check {
        Check::Readyz => "/readyz",
        Check::Livez => "/livez",
    };
    let api_servers: String = config
        .api
        .iter()
        .map(|(name, addr)| {
            format!(
                "    server {name} {addr} check maxconn {}\n",
                config.api_maxconn
            )
        })
        .collect();
    let web_servers = match config.web {
        Some(addr) => format!("    server web-1 {addr} check\n"),
        None => String::new(),
    };
    let mut text = template
        .replace("@HTTP_BIND@", &http.to_string())
        .replace("@STATS_BIND@", &stats.to_string())
        .replace("@ERRORFILE@", &errorfile.display().to_string())
        .replace(
            "@QUEUE_TIMEOUT_MS@",
            &config.queue_timeout.as_millis().to_string(),
        )
        .replace("@CHECK_PATH@", check_path)
        .replace("@API_SERVERS@", api_servers.trim_end())
        .replace("@WEB_SERVERS@", web_servers.trim_end());
    if let Some(bind) = postgres {
        text.push_str(&format!(
            "\n# PostgreSQL: the primary, and the streaming replica as backup (used\n\
             # only when the primary fails its check, i.e. after failover).\n\
             listen postgres\n    mode tcp\n    bind {bind}\n    option tcplog\n    timeout client 1h\n    timeout server 1h\n\
             \x20   default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions\n"
        ));
        for (name, addr, backup) in &config.postgres {
            let backup = if *backup { " backup" } else { "" };
            text.push_str(&format!("    server {name} {addr} check{backup}\n"));
        }
    }
    Ok(text)
}
