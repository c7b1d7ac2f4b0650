//! A JSON-over-HTTP client for loopback services (refuses anything else).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use super::process::Supervised;

/// A supervised process answering HTTP on a loopback address, returned once
/// `ready_path` answers 200 (within 30 s; otherwise stopped, with its log's
/// tail in the error).
#[derive(Debug)]
pub struct ServedProcess {
    pub process: Supervised,
    pub client: Client,
}

impl ServedProcess {
    pub async fn start(
        name: &str,
        command: Command,
        work_dir: &Path,
        addr: SocketAddr,
        ready_path: &str,
    ) -> Result<Self> {
        let process = Supervised::spawn(name, command, work_dir)?;
        let mut server = Self {
            process,
            client: Client::new(addr)?,
        };
        if let Err(err) = server
            .client
            .wait_for_200(ready_path, Duration::from_secs(30))
            .await
        {
            let tail = server.process.log_tail(30);
            server.process.stop();
            bail!("{err:#}\n{name} log:\n{tail}");
        }
        Ok(server)
    }
}

/// A client bound to one loopback address.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    http: reqwest::Client,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Result<Self> {
        ensure!(
            addr.ip().is_loopback(),
            "refusing to talk to non-loopback address {addr}"
        );
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()?;
        Ok(Self { addr, http })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET path` (path may carry a query string); the JSON body when 2xx.
    pub async fn get_json(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        let url = format!("http://{}{path}", self.addr);
        let resp = self
            .http
            .get(&url)
            .query(query)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        let body = resp.text().await?;
        if !status.is_success() {
            bail!("GET {url} {query:?} answered {status}: {body}");
        }
        serde_json::from_str(&body).with_context(|| format!("GET {url}: not JSON: {body}"))
    }

    /// Polls `GET path` until it answers 200 or `deadline` passes.
    pub async fn wait_for_200(&self, path: &str, deadline: Duration) -> Result<()> {
        let url = format!("http://{}{path}", self.addr);
        let start = Instant::now();
        let mut last = String::from("no attempt");
        while start.elapsed() < deadline {
            match self.http.get(&url).send().await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => last = format!("status {}", resp.status()),
                Err(err) => last = format!("{err}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("GET {url} did not answer 200 within {deadline:?}; last: {last}")
    }
}
