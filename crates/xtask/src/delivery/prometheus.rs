//! Runs the Debian Prometheus binary with the repository's configuration,
//! every target rewritten to a loopback address, and waits for targets to be up.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_yaml::Value;

use super::{cmd, free_loopback_addr, http, repo_root};

/// The Prometheus configuration shipped for the compose stack.
pub fn config_path() -> PathBuf {
    repo_root().join("observability/prometheus/prometheus.yml")
}

/// Rewrites every scrape and alerting target of `config` through `targets`
/// (compose `host:port` → loopback address) and points `rule_files` at `rules_dir`.
/// A target missing from the map is an error, so the map follows the configuration.
pub fn rewrite_for_loopback(
    config: &str,
    targets: &BTreeMap<String, SocketAddr>,
    rules_dir: &Path,
) -> Result<String> {
    let mut doc: Value = serde_yaml::from_str(config).context("parsing prometheus.yml")?;
    let rewrite = |list: &mut Value, what: &str| -> Result<()> {
        let Some(items) = list.as_sequence_mut() else {
            bail!("{what}: targets is not a list");
        };
        for item in items {
            let original = item.as_str().context("target is not a string")?.to_owned();
            let addr = targets
                .get(&original)
                .with_context(|| format!("{what}: no loopback address for target {original}"))?;
            *item = Value::String(addr.to_string());
        }
        Ok(())
    };
    walk_targets_and_rules(&mut doc, rules_dir, rewrite)?;
    Ok(serde_yaml::to_string(&doc)?)
}

/// Calls `rewrite` on every `targets` list of a Prometheus configuration
/// (each scrape job's, named by its `job_name`, and the alertmanagers',
/// named `alerting`) and points every `rule_files` entry at `rules_dir`.
pub fn walk_targets_and_rules(
    doc: &mut Value,
    rules_dir: &Path,
    mut rewrite: impl FnMut(&mut Value, &str) -> Result<()>,
) -> Result<()> {
    let scrape_configs = doc
        .get_mut("scrape_configs")
        .and_then(Value::as_sequence_mut)
        .context("prometheus.yml has no scrape_configs list")?;
    for job in scrape_configs {
        let name = job
            .get("job_name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        for sc in job
            .get_mut("static_configs")
            .and_then(Value::as_sequence_mut)
            .with_context(|| format!("job {name} has no static_configs"))?
        {
            rewrite(
                sc.get_mut("targets")
                    .context("static_config without targets")?,
                &name,
            )?;
        }
    }
    if let Some(managers) = doc
        .get_mut("alerting")
        .and_then(|a| a.get_mut("alertmanagers"))
        .and_then(Value::as_sequence_mut)
    {
        for manager in managers {
            for sc in manager
                .get_mut("static_configs")
                .and_then(Value::as_sequence_mut)
                .context("alertmanager without static_configs")?
            {
                rewrite(
                    sc.get_mut("targets")
                        .context("static_config without targets")?,
                    "alerting",
                )?;
            }
        }
    }
    if let Some(rule_files) = doc.get_mut("rule_files").and_then(Value::as_sequence_mut) {
        for file in rule_files {
            let original = file.as_str().context("rule file is not a string")?;
            let name = Path::new(original)
                .file_name()
                .context("rule file without a name")?;
            *file = Value::String(rules_dir.join(name).to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// A Prometheus server started for a check; stopped on drop.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `prometheus` on `addr` with `config_file`; storage under `work_dir`.
    pub fn start(config_file: &Path, addr: SocketAddr, work_dir: &Path) -> Result<Self> {
        let binary = cmd::ensure_apt("prometheus", &["prometheus"])?;
        let log_path = work_dir.join("prometheus.log");
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                work_dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--enable-feature=exemplar-storage")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        eprintln!("+ {}", cmd::display(&command));
        let child = command.spawn().context("starting prometheus")?;
        let mut server = Self { child, addr };
        if let Err(err) = http::wait_for_200(addr, "/-/ready", Duration::from_secs(30)) {
            let _ = server.child.kill();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!("{err:#}\nprometheus log:\n{log}");
        }
        Ok(server)
    }

    /// Waits until every job in `jobs` has all its targets `up`; returns the target list.
    pub fn wait_until_up(&self, jobs: &[&str], deadline: Duration) -> Result<Vec<Target>> {
        let start = Instant::now();
        loop {
            let targets = self.targets()?;
            let pending: Vec<String> = jobs
                .iter()
                .filter(|job| {
                    let mine: Vec<&Target> = targets.iter().filter(|t| t.job == **job).collect();
                    mine.is_empty() || mine.iter().any(|t| t.health != "up")
                })
                .map(|job| job.to_string())
                .collect();
            if pending.is_empty() {
                return Ok(targets);
            }
            if start.elapsed() > deadline {
                bail!("targets not up within {deadline:?}: {pending:?}; all targets: {targets:#?}");
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Runs an instant query and returns the number of series in the result.
    pub fn query_series_count(&self, promql: &str) -> Result<usize> {
        let path = format!("/api/v1/query?query={}", percent_encode(promql));
        let resp = http::get(self.addr, &path, &[])?;
        if resp.status != 200 {
            bail!("query {promql} answered {}: {}", resp.status, resp.body);
        }
        let json: serde_json::Value = serde_json::from_str(&resp.body)?;
        Ok(json["data"]["result"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_default())
    }

    fn targets(&self) -> Result<Vec<Target>> {
        let resp = http::get(self.addr, "/api/v1/targets?state=active", &[])?;
        if resp.status != 200 {
            bail!("/api/v1/targets answered {}: {}", resp.status, resp.body);
        }
        let json: serde_json::Value = serde_json::from_str(&resp.body)?;
        let active = json["data"]["activeTargets"]
            .as_array()
            .context("no activeTargets in /api/v1/targets")?;
        Ok(active
            .iter()
            .map(|t| Target {
                job: t["labels"]["job"].as_str().unwrap_or_default().to_owned(),
                url: t["scrapeUrl"].as_str().unwrap_or_default().to_owned(),
                health: t["health"].as_str().unwrap_or_default().to_owned(),
                last_error: t["lastError"].as_str().unwrap_or_default().to_owned(),
            })
            .collect())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One active scrape target as Prometheus reports it.
#[derive(Debug, Clone)]
pub struct Target {
    pub job: String,
    pub url: String,
    pub health: String,
    pub last_error: String,
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every `host:port` target in the configuration (scrape and alerting).
pub fn configured_targets(config: &str) -> Result<Vec<String>> {
    let doc: Value = serde_yaml::from_str(config).context("parsing prometheus.yml")?;
    let mut out = Vec::new();
    let mut collect = |static_configs: Option<&Value>| {
        for sc in static_configs
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            for t in sc
                .get("targets")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                if let Some(t) = t.as_str() {
                    out.push(t.to_owned());
                }
            }
        }
    };
    for job in doc
        .get("scrape_configs")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        collect(job.get("static_configs"));
    }
    for manager in doc
        .get("alerting")
        .and_then(|a| a.get("alertmanagers"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        collect(manager.get("static_configs"));
    }
    Ok(out)
}

/// Binds a loopback address for every configured target not in `known`.
pub fn fill_unused_targets(config: &str, known: &mut BTreeMap<String, SocketAddr>) -> Result<()> {
    for target in configured_targets(config)? {
        if let std::collections::btree_map::Entry::Vacant(slot) = known.entry(target) {
            slot.insert(free_loopback_addr()?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
global:
  scrape_interval: 15s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["alertmanager:9093"]
rule_files:
  - /etc/prometheus/rules/*.yml
scrape_configs:
  - job_name: userhub-api
    static_configs:
      - targets: ["api:9464"]
        labels: {service: api}
"#;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn rewrites_every_target_and_the_rule_path() {
        let map = BTreeMap::from([
            ("api:9464".to_owned(), addr(1001)),
            ("alertmanager:9093".to_owned(), addr(1002)),
        ]);
        let out = rewrite_for_loopback(CONFIG, &map, Path::new("/repo/rules")).expect("rewrite");
        assert!(out.contains("127.0.0.1:1001"), "{out}");
        assert!(out.contains("127.0.0.1:1002"), "{out}");
        assert!(out.contains("/repo/rules/*.yml"), "{out}");
        assert!(!out.contains("api:9464"), "{out}");
        assert!(out.contains("service: api"), "labels are kept: {out}");
    }

    #[test]
    fn unknown_target_is_an_error() {
        let map = BTreeMap::from([("api:9464".to_owned(), addr(1001))]);
        let err = rewrite_for_loopback(CONFIG, &map, Path::new("/r")).expect_err("must fail");
        assert!(format!("{err:#}").contains("alertmanager:9093"), "{err:#}");
    }

    #[test]
    fn lists_scrape_and_alerting_targets() {
        let targets = configured_targets(CONFIG).expect("parse");
        assert_eq!(targets, vec!["api:9464", "alertmanager:9093"]);
    }

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
    #[test]
    fn debian_prometheus_scrapes_the_repository_config_on_loopback() {
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
        let server = Server::start(&file, prom_addr, &work).expect("prometheus starts");
        let up = server
            .wait_until_up(&["userhub-api", "prometheus"], Duration::from_secs(60))
            .expect("targets up");
        assert!(
            up.iter()
                .any(|t| t.job == "alertmanager" && t.health != "up")
        );
        assert_eq!(
            server
                .query_series_count("userhub_build_info")
                .expect("query"),
            1
        );
        drop(server);
        let _ = std::fs::remove_dir_all(work);
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = super::super::target_dir()
            .join("xtask-tests")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn percent_encodes_promql() {
        assert_eq!(percent_encode("up{job=\"a\"}"), "up%7Bjob%3D%22a%22%7D");
    }
}
