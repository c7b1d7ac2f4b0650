//! Debian's Alertmanager with a rewritten configuration, and its HTTP API.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::http::{Client, ServedProcess};
use super::process::Supervised;
use super::prometheus::Labels;
use crate::delivery::cmd;

/// An alert as Alertmanager holds it.
#[derive(Debug, Clone)]
pub struct AmAlert {
    pub labels: Labels,
    pub fingerprint: String,
    /// `active`, `suppressed` or `unprocessed`.
    pub state: String,
    /// Fingerprints of the alerts inhibiting this one.
    pub inhibited_by: Vec<String>,
    pub silenced_by: Vec<String>,
    /// Receivers the routing tree chose.
    pub receivers: Vec<String>,
    pub starts_at: String,
}

impl AmAlert {
    pub fn name(&self) -> &str {
        self.labels
            .get("alertname")
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn label(&self, key: &str) -> &str {
        self.labels.get(key).map(String::as_str).unwrap_or_default()
    }
}

/// A running Alertmanager (single node, clustering off); stopped on drop.
#[derive(Debug)]
pub struct Alertmanager {
    process: Supervised,
    client: Client,
}

impl Alertmanager {
    /// Starts Debian's `prometheus-alertmanager` (installed with apt when
    /// missing) on `addr` with `config_file`, state under `work_dir`.
    pub async fn start(config_file: &Path, addr: SocketAddr, work_dir: &Path) -> Result<Self> {
        let binary = cmd::ensure_apt("prometheus-alertmanager", &["prometheus-alertmanager"])?;
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.path={}",
                work_dir.join("alertmanager-data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            // No gossip: a single node on loopback.
            .arg("--cluster.listen-address=")
            .arg("--log.level=info");
        let ServedProcess { process, client } =
            ServedProcess::start("alertmanager", command, work_dir, addr, "/-/ready").await?;
        Ok(Self { process, client })
    }

    pub fn addr(&self) -> SocketAddr {
        self.client.addr()
    }

    pub fn process(&mut self) -> &mut Supervised {
        &mut self.process
    }

    /// Every alert Alertmanager holds, including inhibited and silenced ones.
    pub async fn alerts(&self) -> Result<Vec<AmAlert>> {
        let json = self.client.get_json("/api/v2/alerts", &[]).await?;
        let list = json.as_array().context("/api/v2/alerts is not a list")?;
        Ok(list
            .iter()
            .map(|a| {
                let strings = |v: &serde_json::Value| -> Vec<String> {
                    v.as_array()
                        .map(|l| {
                            l.iter()
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                AmAlert {
                    labels: a["labels"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| {
                                    (k.clone(), v.as_str().unwrap_or_default().to_owned())
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    fingerprint: a["fingerprint"].as_str().unwrap_or_default().to_owned(),
                    state: a["status"]["state"].as_str().unwrap_or_default().to_owned(),
                    inhibited_by: strings(&a["status"]["inhibitedBy"]),
                    silenced_by: strings(&a["status"]["silencedBy"]),
                    receivers: a["receivers"]
                        .as_array()
                        .map(|l| {
                            l.iter()
                                .filter_map(|r| r["name"].as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    starts_at: a["startsAt"].as_str().unwrap_or_default().to_owned(),
                }
            })
            .collect())
    }
}
