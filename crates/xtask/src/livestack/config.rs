//! The repository's Prometheus and Alertmanager configuration, rewritten for
//! a loopback run: scrape/alerting targets, the SMTP host, secret-file and
//! template paths, and (when asked, for tests only) rule evaluation
//! intervals. Nothing else is changed: routes, receivers, inhibitions,
//! scrape intervals, rules and alert thresholds are the files' own.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde_yaml::Value;

use crate::delivery::prometheus::walk_targets_and_rules;
use crate::delivery::{free_loopback_addr, repo_root};

/// `observability/prometheus/prometheus.yml`.
pub fn prometheus_yml() -> PathBuf {
    repo_root().join("observability/prometheus/prometheus.yml")
}

/// `observability/prometheus/rules/`.
pub fn rules_dir() -> PathBuf {
    repo_root().join("observability/prometheus/rules")
}

/// `observability/alertmanager/alertmanager.yml`.
pub fn alertmanager_yml() -> PathBuf {
    repo_root().join("observability/alertmanager/alertmanager.yml")
}

/// `observability/alertmanager/templates/`.
pub fn alertmanager_templates_dir() -> PathBuf {
    repo_root().join("observability/alertmanager/templates")
}

/// How to rewrite `prometheus.yml`.
#[derive(Debug, Clone)]
pub struct PrometheusRewrite {
    /// Configured `host:port` target → the loopback addresses that replace it
    /// (several addresses: a scaled-out service). Targets not listed point at
    /// an unused loopback port, so they are scraped and found down.
    pub targets: BTreeMap<String, Vec<SocketAddr>>,
    /// Directory that replaces the directory of every `rule_files` entry.
    pub rules_dir: PathBuf,
    /// Replaces `global.evaluation_interval` (tests only).
    pub evaluation_interval: Option<String>,
}

/// Rewrites a Prometheus configuration; returns the new text.
pub fn rewrite_prometheus(config: &str, rewrite: &PrometheusRewrite) -> Result<String> {
    let mut doc: Value = serde_yaml::from_str(config).context("parsing prometheus.yml")?;
    let mut unused: BTreeMap<String, SocketAddr> = BTreeMap::new();
    let mut map_list = |list: &mut Value, what: &str| -> Result<()> {
        let items = list
            .as_sequence()
            .with_context(|| format!("{what}: targets is not a list"))?;
        let mut out = Vec::new();
        for item in items {
            let original = item.as_str().context("target is not a string")?;
            match rewrite.targets.get(original) {
                Some(addrs) => {
                    ensure!(!addrs.is_empty(), "{what}: no address for {original}");
                    out.extend(addrs.iter().map(|a| Value::String(a.to_string())));
                }
                None => {
                    let addr = match unused.get(original) {
                        Some(addr) => *addr,
                        None => {
                            let addr = free_loopback_addr()?;
                            unused.insert(original.to_owned(), addr);
                            addr
                        }
                    };
                    out.push(Value::String(addr.to_string()));
                }
            }
        }
        *list = Value::Sequence(out);
        Ok(())
    };
    walk_targets_and_rules(&mut doc, &rewrite.rules_dir, &mut map_list)?;
    if let Some(interval) = &rewrite.evaluation_interval {
        let global = doc
            .get_mut("global")
            .and_then(Value::as_mapping_mut)
            .context("prometheus.yml has no global section")?;
        global.insert(
            "evaluation_interval".into(),
            Value::String(interval.clone()),
        );
    }
    if !unused.is_empty() {
        eprintln!("livestack: not running here, scraped as down: {unused:?}");
    }
    Ok(serde_yaml::to_string(&doc)?)
}

/// Rewrites a rule file with every group evaluated every `interval` (tests only).
pub fn rewrite_rule_intervals(rules: &str, interval: &str) -> Result<String> {
    let mut doc: Value = serde_yaml::from_str(rules).context("parsing a rule file")?;
    for group in doc
        .get_mut("groups")
        .and_then(Value::as_sequence_mut)
        .context("rule file without groups")?
    {
        group
            .as_mapping_mut()
            .context("rule group is not a mapping")?
            .insert("interval".into(), Value::String(interval.to_owned()));
    }
    Ok(serde_yaml::to_string(&doc)?)
}

/// How to rewrite `alertmanager.yml`.
#[derive(Debug, Clone)]
pub struct AlertmanagerRewrite {
    /// Replaces `global.smtp_smarthost`.
    pub smtp_smarthost: SocketAddr,
    /// Configured secret file (`api_url_file`, …) → the file to read instead.
    pub secret_files: BTreeMap<String, PathBuf>,
    /// Directory that replaces the directory of every `templates` entry.
    pub templates_dir: PathBuf,
}

/// Keys whose values are paths of files holding secrets.
const SECRET_FILE_KEYS: &[&str] = &[
    "api_url_file",
    "slack_api_url_file",
    "auth_password_file",
    "routing_key_file",
    "service_key_file",
    "url_file",
    "bot_token_file",
];

/// Every secret-file path the configuration names.
pub fn secret_files(config: &str) -> Result<Vec<String>> {
    let doc: Value = serde_yaml::from_str(config).context("parsing alertmanager.yml")?;
    let mut out = Vec::new();
    walk(&doc, &mut |key, value| {
        if SECRET_FILE_KEYS.contains(&key)
            && let Some(path) = value.as_str()
        {
            out.push(path.to_owned());
        }
    });
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(value: &Value, f: &mut impl FnMut(&str, &Value)) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                if let Some(k) = k.as_str() {
                    f(k, v);
                }
                walk(v, f);
            }
        }
        Value::Sequence(seq) => seq.iter().for_each(|v| walk(v, f)),
        _ => {}
    }
}

fn walk_mut(value: &mut Value, f: &mut impl FnMut(&str, &mut Value) -> Result<()>) -> Result<()> {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                if let Some(k) = k.as_str() {
                    f(k, v)?;
                }
                walk_mut(v, f)?;
            }
        }
        Value::Sequence(seq) => {
            for v in seq {
                walk_mut(v, f)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Rewrites an Alertmanager configuration; returns the new text.
pub fn rewrite_alertmanager(config: &str, rewrite: &AlertmanagerRewrite) -> Result<String> {
    let mut doc: Value = serde_yaml::from_str(config).context("parsing alertmanager.yml")?;
    let global = doc
        .get_mut("global")
        .and_then(Value::as_mapping_mut)
        .context("alertmanager.yml has no global section")?;
    ensure!(
        global.contains_key("smtp_smarthost"),
        "alertmanager.yml has no global.smtp_smarthost"
    );
    global.insert(
        "smtp_smarthost".into(),
        Value::String(rewrite.smtp_smarthost.to_string()),
    );
    walk_mut(&mut doc, &mut |key, value| {
        if SECRET_FILE_KEYS.contains(&key) {
            let original = value.as_str().context("secret file is not a string")?;
            let Some(path) = rewrite.secret_files.get(original) else {
                bail!("no replacement given for secret file {original}");
            };
            *value = Value::String(path.to_string_lossy().into_owned());
        }
        Ok(())
    })?;
    if let Some(templates) = doc.get_mut("templates").and_then(Value::as_sequence_mut) {
        for template in templates {
            let original = template.as_str().context("template is not a string")?;
            let name = Path::new(original)
                .file_name()
                .context("template without a name")?;
            *template = Value::String(
                rewrite
                    .templates_dir
                    .join(name)
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    Ok(serde_yaml::to_string(&doc)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn the_repository_prometheus_config_is_rewritten_to_loopback() {
        let config = std::fs::read_to_string(prometheus_yml()).expect("prometheus.yml");
        let rewrite = PrometheusRewrite {
            targets: BTreeMap::from([
                ("api:9464".to_owned(), vec![addr(1001), addr(1002)]),
                ("web:9464".to_owned(), vec![addr(1003)]),
                ("alertmanager:9093".to_owned(), vec![addr(1004)]),
            ]),
            rules_dir: PathBuf::from("/work/rules"),
            evaluation_interval: Some("5s".to_owned()),
        };
        let out = rewrite_prometheus(&config, &rewrite).expect("rewrite");
        for expected in [
            "127.0.0.1:1001",
            "127.0.0.1:1002",
            "127.0.0.1:1003",
            "/work/rules/*.yml",
        ] {
            assert!(out.contains(expected), "{expected} missing:\n{out}");
        }
        for gone in ["api:9464", "web:9464", "alertmanager:9093", "grafana:3000"] {
            assert!(!out.contains(gone), "{gone} still there:\n{out}");
        }
        let doc: Value = serde_yaml::from_str(&out).expect("yaml");
        assert_eq!(doc["global"]["evaluation_interval"], "5s");
        // The scrape interval is the file's own.
        let original: Value = serde_yaml::from_str(&config).expect("yaml");
        assert_eq!(
            doc["global"]["scrape_interval"],
            original["global"]["scrape_interval"]
        );
    }

    #[test]
    fn the_repository_alertmanager_config_is_rewritten_without_secrets() {
        let config = std::fs::read_to_string(alertmanager_yml()).expect("alertmanager.yml");
        let secrets = secret_files(&config).expect("secrets");
        assert!(
            !secrets.is_empty(),
            "Slack webhook URLs must come from files"
        );
        let rewrite = AlertmanagerRewrite {
            smtp_smarthost: addr(2525),
            secret_files: secrets
                .iter()
                .map(|s| (s.clone(), PathBuf::from(format!("/tmp/x/{}", s.len()))))
                .collect(),
            templates_dir: PathBuf::from("/repo/templates"),
        };
        let out = rewrite_alertmanager(&config, &rewrite).expect("rewrite");
        assert!(out.contains("127.0.0.1:2525"), "{out}");
        assert!(out.contains("/repo/templates/*.tmpl"), "{out}");
        for secret in &secrets {
            assert!(!out.contains(secret.as_str()), "{secret} not rewritten");
        }
        let missing = AlertmanagerRewrite {
            secret_files: BTreeMap::new(),
            ..rewrite
        };
        assert!(rewrite_alertmanager(&config, &missing).is_err());
    }

    #[test]
    fn rule_groups_get_the_test_interval() {
        let rules =
            "groups:\n  - name: a\n    interval: 30s\n    rules: []\n  - name: b\n    rules: []\n";
        let out = rewrite_rule_intervals(rules, "5s").expect("rewrite");
        let doc: Value = serde_yaml::from_str(&out).expect("yaml");
        assert_eq!(doc["groups"][0]["interval"], "5s");
        assert_eq!(doc["groups"][1]["interval"], "5s");
    }
}
