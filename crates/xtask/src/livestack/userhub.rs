//! Real `userhub` processes (`api`, `web`, `serve`) on free loopback ports.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::http::Client;
use super::process::Supervised;
use crate::delivery::{free_loopback_addr, repo_root};

/// Builds the debug `userhub` binary (already built by the test step in
/// `cargo xtask ci`) and returns its path.
pub fn build_binary() -> Result<PathBuf> {
    crate::cmd::build_userhub(false)
}

/// A running `userhub <subcommand>`; stopped (SIGTERM) on drop.
#[derive(Debug)]
pub struct Userhub {
    pub process: Supervised,
    /// `USERHUB_BIND`.
    pub addr: SocketAddr,
    /// `USERHUB_ADMIN_BIND` (metrics, probes).
    pub admin: SocketAddr,
}

impl Userhub {
    /// Starts `binary subcommand` named `name` with `env` on top of free
    /// `USERHUB_BIND` / `USERHUB_ADMIN_BIND` ports and JSON logs, in
    /// `work_dir/name` (its data directory), and waits until `/readyz`
    /// answers on both listeners.
    pub async fn start(
        binary: &Path,
        name: &str,
        subcommand: &str,
        env: &[(&str, String)],
        work_dir: &Path,
    ) -> Result<Self> {
        let addr = free_loopback_addr()?;
        let admin = free_loopback_addr()?;
        let data = work_dir.join(name);
        std::fs::create_dir_all(&data)?;
        let mut command = Command::new(binary);
        command
            .arg(subcommand)
            .current_dir(repo_root())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("USERHUB_BIND", addr.to_string())
            .env("USERHUB_ADMIN_BIND", admin.to_string())
            .env("USERHUB_DATA_DIR", &data)
            .env("USERHUB_LOG_FORMAT", "json")
            .env("RUST_LOG", "info");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut process = Supervised::spawn(name, command, work_dir)?;
        let started = Instant::now();
        let deadline = Duration::from_secs(60);
        for target in [admin, addr] {
            let client = Client::new(target)?;
            loop {
                if !process.is_running() {
                    bail!("{name} exited during start-up:\n{}", process.log_tail(30));
                }
                if client
                    .wait_for_200("/readyz", Duration::from_millis(500))
                    .await
                    .is_ok()
                {
                    break;
                }
                if started.elapsed() > deadline {
                    bail!(
                        "{name} not ready on {target} within {deadline:?}:\n{}",
                        process.log_tail(30)
                    );
                }
            }
        }
        eprintln!(
            "livestack: {name} ({subcommand}) ready on {addr}, admin {admin}, in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(Self {
            process,
            addr,
            admin,
        })
    }

    /// `http://addr`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The admin listener's `/metrics` in Prometheus text format.
    pub async fn metrics_text(&self) -> Result<String> {
        reqwest::Client::builder()
            .no_proxy()
            .build()?
            .get(format!("http://{}/metrics", self.admin))
            .send()
            .await
            .context("GET /metrics")?
            .text()
            .await
            .context("reading /metrics")
    }
}
