//! `cargo xtask observability`: validates `observability/`.
//!
//! Static checks (`--static`, also part of the default): Prometheus rule
//! files (`promtool check rules`), their unit tests (`promtool test rules`),
//! every alert having a firing test, every alert routed to the receiver its
//! severity calls for (`amtool config routes test`), and the Grafana
//! dashboards (the JSON fields Grafana needs, every panel query parsed as
//! PromQL by promtool, `$__rate_interval` in range selectors, every panel
//! saying which jobs it covers, the data source's `timeInterval` equal to
//! the scrape interval).
//!
//! Live test (`--live`, also part of the default, so of `cargo xtask ci`):
//! see [`live`].

mod grafana;
pub mod live;
mod promql;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::cmd;

/// Where each severity must be routed (observability/alertmanager/alertmanager.yml).
const ROUTES: &[(&str, &str)] = &[("critical", "oncall"), ("warning", "ticket")];

/// `cargo xtask observability [--static | --live]` (default both).
#[derive(Debug, Default, clap::Args)]
#[group(multiple = false)]
pub struct Args {
    /// Only the static checks (promtool, amtool, dashboards)
    #[arg(long = "static")]
    pub static_only: bool,
    /// Only the live-stack test
    #[arg(long)]
    pub live: bool,
}

pub fn run(args: &Args) -> Result<()> {
    let (static_checks, live_test) = (!args.live, !args.static_only);
    if static_checks {
        cmd::timed("observability: static checks", run_static)?;
    }
    if live_test {
        cmd::timed("observability: live stack", live::run)?;
    }
    Ok(())
}

fn run_static() -> Result<()> {
    let promtool = crate::delivery::cmd::ensure_apt("promtool", &["prometheus"])?;
    let root = cmd::workspace_root().join("observability");
    let rules = files(&root.join("prometheus/rules"), "yml")?;
    ensure!(
        !rules.is_empty(),
        "no rule files in observability/prometheus/rules"
    );
    let mut check = Command::new(&promtool);
    check.args(["check", "rules"]).args(&rules);
    cmd::run(check)?;
    let tests = files(&root.join("prometheus/tests"), "yml")?;
    ensure!(
        !tests.is_empty(),
        "no rule tests in observability/prometheus/tests"
    );
    let mut test = Command::new(&promtool);
    test.args(["test", "rules"]).args(&tests);
    cmd::run(test)?;
    let alerts = alert_rules(&rules)?;
    check_firing_tests(&alerts, &tests)?;
    check_routes(&alerts, &root.join("alertmanager/alertmanager.yml"))?;

    let scrape = live_scrape_interval(&root)?;
    let time_interval = live::datasource_time_interval(&cmd::workspace_root())?;
    ensure!(
        (scrape - time_interval).abs() < f64::EPSILON,
        "the Grafana data source's timeInterval ({time_interval} s) differs from the scrape interval ({scrape} s): \
         $__rate_interval would be wrong"
    );
    let jobs = userhub_jobs(&root)?;
    check_trace_links(&std::fs::read_to_string(
        root.join("grafana/provisioning/datasources/datasources.yaml"),
    )?)?;
    for doc in ["docs/runbooks.md", "docs/observability.md"] {
        let text = std::fs::read_to_string(cmd::workspace_root().join(doc))?;
        check_overload_wording(&text).with_context(|| doc.to_owned())?;
    }
    for rules_file in &rules {
        check_overload_wording(&std::fs::read_to_string(rules_file)?)
            .with_context(|| rules_file.display().to_string())?;
    }
    let delivery = std::fs::read_to_string(cmd::workspace_root().join("docs/delivery.md"))?;
    for job in &jobs {
        ensure!(
            delivery.contains(&format!("`{job}`")),
            "docs/delivery.md does not describe the {job} job of prometheus.yml"
        );
    }
    let dashboards = files(&root.join("grafana/dashboards"), "json")?;
    ensure!(
        !dashboards.is_empty(),
        "no dashboards in observability/grafana/dashboards"
    );
    let mut exprs = Vec::new();
    for path in &dashboards {
        let text = std::fs::read_to_string(path)?;
        let dashboard: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        exprs.extend(
            check_dashboard(&dashboard, &jobs).with_context(|| format!("{}", path.display()))?,
        );
        println!("dashboard ok: {}", path.display());
    }
    // Every panel query must parse: promtool checks them as recording rules,
    // with Grafana's variables replaced by ordinary values.
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("dashboard-queries.yml");
    let mut yaml = String::from("groups:\n  - name: dashboard-queries\n    rules:\n");
    for (i, expr) in exprs.iter().enumerate() {
        let expr = grafana::interpolate(expr, &[("job", ".*".to_owned())], 60.0, 60.0);
        yaml.push_str(&format!(
            "      - record: dashboard:query:{i}\n        expr: {}\n",
            serde_json::to_string(&expr)?
        ));
    }
    std::fs::write(&file, yaml)?;
    let mut queries = Command::new(&promtool);
    queries.args(["check", "rules"]).arg(&file);
    cmd::run(queries).context("a dashboard query is not valid PromQL")
}

/// Grafana's traces-to-metrics links filter metrics by labels taken from
/// the span. The span's `service.name` (`userhub-api`, `userhub-web`) equals
/// the Prometheus `job` of that service; any other label never matches, and
/// the link opens an empty graph.
fn check_trace_links(datasources: &str) -> Result<()> {
    let doc: serde_yaml::Value = serde_yaml::from_str(datasources)?;
    let mut links = 0;
    for source in doc["datasources"].as_sequence().into_iter().flatten() {
        let Some(tags) = source["jsonData"]["tracesToMetrics"]["tags"].as_sequence() else {
            continue;
        };
        for tag in tags {
            let key = tag["key"].as_str().unwrap_or_default();
            let value = tag["value"].as_str().unwrap_or(key);
            if key == "service.name" {
                ensure!(
                    value == "job",
                    "traces-to-metrics maps service.name to the label `{value}`; the metrics carry the service as `job`"
                );
                links += 1;
            }
        }
    }
    ensure!(
        links > 0,
        "no traces-to-metrics link maps service.name to job"
    );
    Ok(())
}

/// Pool exhaustion and a lost database answer 503 with `Retry-After`; a
/// runbook or alert that says they give 500 sends the on-call engineer the
/// wrong way.
fn check_overload_wording(text: &str) -> Result<()> {
    for line in text.lines() {
        let lower = line.to_lowercase();
        let about_pool = lower.contains("pool") || lower.contains("acquire");
        let mentions_500 = lower.match_indices("500").any(|(i, _)| {
            let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
            !digit(lower[..i].chars().next_back()) && !digit(lower[i + 3..].chars().next())
        });
        ensure!(
            !(about_pool && mentions_500 && !lower.contains("503")),
            "speaks of pool timeouts and 500 without 503 (they answer 503 with Retry-After): {line}"
        );
    }
    Ok(())
}

/// One alerting rule: name and labels.
#[derive(Debug)]
struct AlertRule {
    name: String,
    labels: Vec<(String, String)>,
}

fn alert_rules(files: &[PathBuf]) -> Result<Vec<AlertRule>> {
    let mut out = Vec::new();
    for path in files {
        let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path)?)
            .with_context(|| format!("parsing {}", path.display()))?;
        for group in doc["groups"].as_sequence().into_iter().flatten() {
            for rule in group["rules"].as_sequence().into_iter().flatten() {
                let Some(name) = rule["alert"].as_str() else {
                    continue;
                };
                let labels = rule["labels"]
                    .as_mapping()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| {
                                Some((k.as_str()?.to_owned(), v.as_str()?.to_owned()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(AlertRule {
                    name: name.to_owned(),
                    labels,
                });
            }
        }
    }
    ensure!(!out.is_empty(), "no alerting rules");
    Ok(out)
}

/// Every alert has at least one promtool test case expecting it to fire.
fn check_firing_tests(alerts: &[AlertRule], tests: &[PathBuf]) -> Result<()> {
    let mut fired = BTreeSet::new();
    for path in tests {
        let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path)?)?;
        for test in doc["tests"].as_sequence().into_iter().flatten() {
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let expects = case["exp_alerts"]
                    .as_sequence()
                    .is_some_and(|a| !a.is_empty());
                if expects && let Some(name) = case["alertname"].as_str() {
                    fired.insert(name.to_owned());
                }
            }
        }
    }
    let missing: Vec<&str> = alerts
        .iter()
        .map(|a| a.name.as_str())
        .filter(|n| !fired.contains(*n))
        .collect();
    ensure!(
        missing.is_empty(),
        "alerts without a promtool test that makes them fire: {missing:?}"
    );
    println!(
        "observability: all {} alerts have a firing test",
        alerts.len()
    );
    Ok(())
}

/// Every alert reaches the receiver of its severity (amtool's routing tree).
fn check_routes(alerts: &[AlertRule], config: &Path) -> Result<()> {
    let amtool = crate::delivery::cmd::ensure_apt("amtool", &["prometheus-alertmanager"])?;
    for alert in alerts {
        let severity = alert
            .labels
            .iter()
            .find(|(k, _)| k == "severity")
            .map(|(_, v)| v.as_str())
            .with_context(|| format!("{} has no severity label", alert.name))?;
        let receiver = ROUTES
            .iter()
            .find(|(s, _)| *s == severity)
            .map(|(_, r)| *r)
            .with_context(|| {
                format!(
                    "{}: severity {severity:?} has no agreed receiver",
                    alert.name
                )
            })?;
        let mut command = Command::new(&amtool);
        command
            .args(["config", "routes", "test", "--config.file"])
            .arg(config)
            .arg(format!("--verify.receivers={receiver}"))
            .arg(format!("alertname={}", alert.name))
            .arg("job=userhub-api")
            .arg("instance=api:9464");
        for (k, v) in &alert.labels {
            command.arg(format!("{k}={v}"));
        }
        let out = crate::delivery::cmd::output(&mut command)?;
        ensure!(
            out.status.success(),
            "{} (severity {severity}) is routed to {}, expected {receiver}",
            alert.name,
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    println!("observability: every alert routes to its severity's receiver ({ROUTES:?})");
    Ok(())
}

fn live_scrape_interval(root: &Path) -> Result<f64> {
    let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(
        root.join("prometheus/prometheus.yml"),
    )?)?;
    grafana::parse_duration(
        doc["global"]["scrape_interval"]
            .as_str()
            .context("prometheus.yml has no global.scrape_interval")?,
    )
}

/// The `userhub*` job names of prometheus.yml.
fn userhub_jobs(root: &Path) -> Result<BTreeSet<String>> {
    let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(
        root.join("prometheus/prometheus.yml"),
    )?)?;
    Ok(doc["scrape_configs"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|j| j["job_name"].as_str())
        .filter(|j| j.starts_with("userhub"))
        .map(str::to_owned)
        .collect())
}

/// Checks the fields Grafana needs to import `d`; returns its queries.
fn check_dashboard(d: &Value, jobs: &BTreeSet<String>) -> Result<Vec<String>> {
    for key in ["title", "uid"] {
        ensure!(
            d[key].as_str().is_some_and(|s| !s.is_empty()),
            "missing `{key}`"
        );
    }
    ensure!(
        d["schemaVersion"].as_u64().is_some(),
        "missing `schemaVersion`"
    );
    let panels = d["panels"].as_array().context("missing `panels`")?;
    ensure!(!panels.is_empty(), "no panels");
    let mut ids = HashSet::new();
    let mut exprs = Vec::new();
    for p in panels {
        let id = p["id"].as_u64().context("panel without numeric `id`")?;
        ensure!(ids.insert(id), "duplicate panel id {id}");
        let title = p["title"].as_str().context("panel without `title`")?;
        let kind = p["type"].as_str().context("panel without `type`")?;
        let grid = &p["gridPos"];
        let (x, w, h) = (grid["x"].as_u64(), grid["w"].as_u64(), grid["h"].as_u64());
        match (x, grid["y"].as_u64(), w, h) {
            (Some(x), Some(_), Some(w), Some(h)) if x + w <= 24 && w > 0 && h > 0 => {}
            _ => bail!("panel {title:?}: bad `gridPos` {grid}"),
        }
        if kind == "row" {
            continue;
        }
        ensure!(
            p["datasource"].is_object(),
            "panel {title:?}: no `datasource`"
        );
        let targets = p["targets"].as_array().context("panel without `targets`")?;
        ensure!(!targets.is_empty(), "panel {title:?}: no targets");
        let covers = grafana::covers(p["description"].as_str().unwrap_or_default())
            .with_context(|| format!("panel {title:?}"))?;
        for job in &covers {
            ensure!(
                jobs.contains(job),
                "panel {title:?} covers {job}, which is not a job of prometheus.yml ({jobs:?})"
            );
        }
        for t in targets {
            ensure!(
                t["refId"].as_str().is_some(),
                "panel {title:?}: target without refId"
            );
            let expr = t["expr"].as_str().context("target without `expr`")?;
            // At the default 15 s scrape, a [$__interval] window holds fewer
            // than two samples: rate() and increase() come back empty.
            ensure!(
                !expr.contains("[$__interval]") && !expr.contains("[${__interval}]"),
                "panel {title:?}: use [$__rate_interval], not [$__interval], in range selectors: {expr}"
            );
            exprs.push(expr.to_owned());
        }
    }
    Ok(exprs)
}

fn files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_links_must_map_service_name_to_job() {
        let good = "datasources:\n  - name: Tempo\n    jsonData:\n      tracesToMetrics:\n        tags:\n          - key: service.name\n            value: job\n";
        check_trace_links(good).unwrap();
        let wrong = good.replace("value: job", "value: service");
        assert!(check_trace_links(&wrong).is_err());
        assert!(check_trace_links("datasources: []\n").is_err());
    }

    #[test]
    fn pool_timeouts_are_not_described_as_500() {
        check_overload_wording("Pool timeouts give 503 with Retry-After, never a 500.").unwrap();
        check_overload_wording("pool size 5000 connections").unwrap();
        // The wording this check was written against (before the fix).
        for old in [
            "acquire timeouts (500s).",
            "| `db_client_connection_timeouts_total` | counter | – | acquisitions that hit the acquire timeout (each became a 500) |",
            "failed to acquire database connections within the acquire timeout in the last 5 minutes; those requests answered 500.",
        ] {
            assert!(check_overload_wording(old).is_err(), "{old}");
        }
    }

    #[test]
    fn the_repository_passes_both_checks() {
        let root = cmd::workspace_root();
        check_trace_links(
            &std::fs::read_to_string(
                root.join("observability/grafana/provisioning/datasources/datasources.yaml"),
            )
            .unwrap(),
        )
        .unwrap();
        for doc in [
            "docs/runbooks.md",
            "docs/observability.md",
            "observability/prometheus/rules/userhub.yml",
        ] {
            check_overload_wording(&std::fs::read_to_string(root.join(doc)).unwrap()).unwrap();
        }
    }
}
