//! Debian's Prometheus with a rewritten configuration, and its HTTP API: the
//! one runner of the live stack and of `cargo xtask image`'s scrape check.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::http::{Client, ServedProcess};
use super::process::Supervised;
use crate::delivery::cmd;

/// Labels of one series.
pub type Labels = BTreeMap<String, String>;

/// One series of an instant query.
#[derive(Debug, Clone)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

/// One series of a range query: `(unix seconds, value)` points.
#[derive(Debug, Clone)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// Points whose value is a number (not NaN).
    pub fn finite_points(&self) -> usize {
        self.points.iter().filter(|(_, v)| !v.is_nan()).count()
    }
}

/// An alert as Prometheus' rule manager reports it.
#[derive(Debug, Clone)]
pub struct RuleAlert {
    pub labels: Labels,
    /// `pending` or `firing`.
    pub state: String,
    pub active_at: String,
}

/// One scrape target.
#[derive(Debug, Clone)]
pub struct Target {
    pub job: String,
    pub instance: String,
    /// The URL scraped.
    pub url: String,
    pub health: String,
    pub last_error: String,
}

/// A running Prometheus; stopped on drop.
#[derive(Debug)]
pub struct Prometheus {
    process: Supervised,
    client: Client,
}

impl Prometheus {
    /// Starts Debian's `prometheus` (installed with apt when missing) on `addr`
    /// with `config_file`, TSDB under `work_dir`, exemplar storage on (as in
    /// deploy/compose), and waits until it is ready.
    pub async fn start(config_file: &Path, addr: SocketAddr, work_dir: &Path) -> Result<Self> {
        let binary = cmd::ensure_apt("prometheus", &["prometheus"])?;
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                work_dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--enable-feature=exemplar-storage")
            .arg("--log.level=warn");
        let ServedProcess { process, client } =
            ServedProcess::start("prometheus", command, work_dir, addr, "/-/ready").await?;
        Ok(Self { process, client })
    }

    pub fn addr(&self) -> SocketAddr {
        self.client.addr()
    }

    pub fn process(&mut self) -> &mut Supervised {
        &mut self.process
    }

    async fn data(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        let json = self.client.get_json(path, query).await?;
        if json["status"] != "success" {
            bail!("{path} {query:?}: {json}");
        }
        Ok(json["data"].clone())
    }

    /// Instant query at `time` (unix seconds), or now.
    pub async fn query(&self, expr: &str, time: Option<f64>) -> Result<Vec<Sample>> {
        let mut query = vec![("query", expr.to_owned())];
        if let Some(time) = time {
            query.push(("time", format!("{time:.3}")));
        }
        let data = self.data("/api/v1/query", &query).await?;
        if data["resultType"] != "vector" {
            bail!("{expr}: expected a vector, got {}", data["resultType"]);
        }
        data["result"]
            .as_array()
            .context("query result is not a list")?
            .iter()
            .map(|s| {
                Ok(Sample {
                    labels: labels(&s["metric"]),
                    value: number(&s["value"][1])?,
                })
            })
            .collect()
    }

    /// Range query over `[start, end]` every `step` seconds.
    pub async fn query_range(
        &self,
        expr: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<Series>> {
        let query = [
            ("query", expr.to_owned()),
            ("start", format!("{start:.3}")),
            ("end", format!("{end:.3}")),
            ("step", format!("{step}")),
        ];
        let data = self.data("/api/v1/query_range", &query).await?;
        data["result"]
            .as_array()
            .context("query_range result is not a list")?
            .iter()
            .map(|s| {
                let points = s["values"]
                    .as_array()
                    .context("series without values")?
                    .iter()
                    .map(|p| Ok((p[0].as_f64().context("timestamp")?, number(&p[1])?)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Series {
                    labels: labels(&s["metric"]),
                    points,
                })
            })
            .collect()
    }

    /// Metric names of the series matching `selector` now.
    pub async fn metric_names(&self, selector: &str) -> Result<BTreeSet<String>> {
        let data = self
            .data(
                "/api/v1/label/__name__/values",
                &[("match[]", selector.to_owned())],
            )
            .await?;
        Ok(data
            .as_array()
            .context("label values are not a list")?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect())
    }

    /// Pending and firing alerts.
    pub async fn alerts(&self) -> Result<Vec<RuleAlert>> {
        let data = self.data("/api/v1/alerts", &[]).await?;
        Ok(data["alerts"]
            .as_array()
            .context("alerts is not a list")?
            .iter()
            .map(|a| RuleAlert {
                labels: labels(&a["labels"]),
                state: a["state"].as_str().unwrap_or_default().to_owned(),
                active_at: a["activeAt"].as_str().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// Active scrape targets.
    pub async fn targets(&self) -> Result<Vec<Target>> {
        let data = self
            .data("/api/v1/targets", &[("state", "active".to_owned())])
            .await?;
        Ok(data["activeTargets"]
            .as_array()
            .context("no activeTargets")?
            .iter()
            .map(|t| Target {
                job: t["labels"]["job"].as_str().unwrap_or_default().to_owned(),
                instance: t["labels"]["instance"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                url: t["scrapeUrl"].as_str().unwrap_or_default().to_owned(),
                health: t["health"].as_str().unwrap_or_default().to_owned(),
                last_error: t["lastError"].as_str().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// Waits until every target of every job in `jobs` is up.
    pub async fn wait_until_up(&self, jobs: &[&str], deadline: Duration) -> Result<Vec<Target>> {
        let start = Instant::now();
        loop {
            let targets = self.targets().await?;
            let pending: Vec<&str> = jobs
                .iter()
                .copied()
                .filter(|job| {
                    let mine: Vec<&Target> = targets.iter().filter(|t| t.job == *job).collect();
                    mine.is_empty() || mine.iter().any(|t| t.health != "up")
                })
                .collect();
            if pending.is_empty() {
                return Ok(targets);
            }
            if start.elapsed() > deadline {
                bail!("targets of {pending:?} not up within {deadline:?}: {targets:#?}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn labels(value: &Value) -> Labels {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Prometheus encodes sample values as strings (`"1.5"`, `"NaN"`, `"+Inf"`).
fn number(value: &Value) -> Result<f64> {
    let text = value.as_str().context("sample value is not a string")?;
    Ok(match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other
            .parse()
            .with_context(|| format!("sample value {other:?}"))?,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::delivery::prometheus::{config_path, fill_unused_targets, rewrite_for_loopback};
    use crate::delivery::{free_loopback_addr, repo_root};

    /// Serves a fixed Prometheus text exposition on 127.0.0.1 for `count` requests at most.
    fn fake_exporter(count: usize) -> SocketAddr {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for stream in listener.incoming().take(count).flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let body =
                    "# TYPE userhub_build_info gauge\nuserhub_build_info{version=\"test\"} 1\n";
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        addr
    }

    /// Runs the real Prometheus binary (installed from Debian when missing) with
    /// the repository's configuration, targets rewritten to loopback.
    #[tokio::test]
    async fn debian_prometheus_scrapes_the_repository_config_on_loopback() {
        let work = tempfile_dir("prometheus-config-test");
        let config = std::fs::read_to_string(config_path()).expect("prometheus.yml");
        let prom_addr = free_loopback_addr().expect("port");
        let mut targets = BTreeMap::from([
            ("api:9464".to_owned(), fake_exporter(100)),
            ("localhost:9090".to_owned(), prom_addr),
        ]);
        fill_unused_targets(&config, &mut targets).expect("fill");
        let rules = repo_root().join("observability/prometheus/rules");
        let rewritten = rewrite_for_loopback(&config, &targets, &rules).expect("rewrite");
        let file = work.join("prometheus.yml");
        std::fs::write(&file, rewritten).expect("write config");
        let server = Prometheus::start(&file, prom_addr, &work)
            .await
            .expect("prometheus starts");
        let up = server
            .wait_until_up(&["userhub-api", "prometheus"], Duration::from_secs(60))
            .await
            .expect("targets up");
        assert!(
            up.iter()
                .any(|t| t.job == "alertmanager" && t.health != "up")
        );
        assert_eq!(
            server
                .query("userhub_build_info", None)
                .await
                .expect("query")
                .len(),
            1
        );
        drop(server);
        let _ = std::fs::remove_dir_all(work);
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = crate::delivery::target_dir()
            .join("xtask-tests")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }
}
