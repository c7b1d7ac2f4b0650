//! `cargo xtask observability`: validates `observability/`: Prometheus rule
//! files (`promtool check rules`), their unit tests (`promtool test rules`)
//! and the Grafana dashboards (the JSON fields Grafana needs, and every
//! panel query parses as PromQL, checked by promtool).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::cmd;

pub const ABOUT: &str = "promtool check/test of alert rules, Grafana dashboard validation";

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`observability` takes no arguments (got `{arg}`)");
    }
    let promtool = which("promtool").context(
        "promtool not found on PATH: install it (Debian: `apt-get install prometheus`)",
    )?;
    let root = cmd::workspace_root().join("observability");
    let rules = files(&root.join("prometheus/rules"), "yml")?;
    ensure!(!rules.is_empty(), "no rule files in observability/prometheus/rules");
    let mut check = Command::new(&promtool);
    check.args(["check", "rules"]).args(&rules);
    cmd::run(check)?;
    let tests = files(&root.join("prometheus/tests"), "yml")?;
    ensure!(!tests.is_empty(), "no rule tests in observability/prometheus/tests");
    let mut test = Command::new(&promtool);
    test.args(["test", "rules"]).args(&tests);
    cmd::run(test)?;

    let dashboards = files(&root.join("grafana/dashboards"), "json")?;
    ensure!(!dashboards.is_empty(), "no dashboards in observability/grafana/dashboards");
    let mut exprs = Vec::new();
    for path in &dashboards {
        let text = std::fs::read_to_string(path)?;
        let dashboard: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        exprs.extend(
            check_dashboard(&dashboard).with_context(|| format!("{}", path.display()))?,
        );
        println!("dashboard ok: {}", path.display());
    }
    // Every panel query must parse: promtool checks them as recording rules,
    // with Grafana's variables replaced by ordinary values.
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("dashboard-queries.yml");
    let mut yaml = String::from("groups:\n  - name: dashboard-queries\n    rules:\n");
    for (i, expr) in exprs.iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$__interval", "1m")
            .replace("$job", ".*");
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

/// Checks the fields Grafana needs to import `d`; returns its queries.
fn check_dashboard(d: &Value) -> Result<Vec<String>> {
    for key in ["title", "uid"] {
        ensure!(
            d[key].as_str().is_some_and(|s| !s.is_empty()),
            "missing `{key}`"
        );
    }
    ensure!(d["schemaVersion"].as_u64().is_some(), "missing `schemaVersion`");
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
        ensure!(p["datasource"].is_object(), "panel {title:?}: no `datasource`");
        let targets = p["targets"].as_array().context("panel without `targets`")?;
        ensure!(!targets.is_empty(), "panel {title:?}: no targets");
        for t in targets {
            ensure!(t["refId"].as_str().is_some(), "panel {title:?}: target without refId");
            let expr = t["expr"].as_str().context("target without `expr`")?;
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

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}
