//! The repository's Prometheus configuration made to run on loopback: every
//! target rewritten to a loopback address, rule files pointed at the
//! repository. The one Prometheus runner, for the image check and the live
//! stack alike, is `livestack::Prometheus`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_yaml::Value;

use super::{free_loopback_addr, repo_root};

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
}
