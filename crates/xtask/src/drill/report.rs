//! A drill's result: JSON, PNG plots, and its section of docs/drills.md.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cmd;
use crate::rig::k6;
use crate::rig::venv::Tools;

/// The short commit hash of the checkout, with `+dirty` for local changes.
pub fn commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(cmd::workspace_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let hash = run(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty { format!("{hash}+dirty") } else { hash }
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    pub must_hold: String,
    pub measured: String,
    pub passed: bool,
}

impl Target {
    pub fn new(name: &str, must_hold: &str, measured: String, passed: bool) -> Self {
        let mark = if passed { "ok" } else { "MISSED" };
        println!("  target {name}: {measured} (must hold: {must_hold}) -> {mark}");
        Self {
            name: name.to_owned(),
            must_hold: must_hold.to_owned(),
            measured,
            passed,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at_ms: i64,
    pub what: String,
}

/// One k6 run of the drill (a drill may run several, e.g. SQLite then PostgreSQL).
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub label: String,
    pub totals: k6::Totals,
    pub events: Vec<Event>,
    #[serde(skip)]
    pub csv: PathBuf,
    pub plot: String,
}

#[derive(Debug, Serialize)]
pub struct DrillResult {
    pub drill: String,
    pub variant: &'static str,
    pub date: String,
    pub commit: String,
    pub binary: String,
    pub wall_seconds: f64,
    /// /proc/loadavg when the drill started (the machine is shared).
    pub load_average: String,
    pub passed: bool,
    pub targets: Vec<Target>,
    pub runs: Vec<Run>,
    pub details: serde_json::Value,
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Where results go: docs/drills for full runs, target/drills for short ones.
pub fn out_dir(short: bool) -> PathBuf {
    if short {
        cmd::workspace_root().join("target/drills")
    } else {
        cmd::workspace_root().join("docs/drills")
    }
}

/// Write plots and JSON; update docs/drills.md for a full run.
pub fn write(result: &mut DrillResult, tools: &Tools, short: bool) -> Result<PathBuf> {
    let dir = out_dir(short);
    std::fs::create_dir_all(&dir)?;
    let suffix = if short { "-short" } else { "" };
    let single = result.runs.len() == 1;
    let drill = result.drill.clone();
    for run in &mut result.runs {
        let slug = if single {
            drill.clone()
        } else {
            format!("{drill}-{}", run.label)
        };
        let png = dir.join(format!("{slug}{suffix}.png"));
        let events = dir.join(format!(".{slug}{suffix}-events.json"));
        std::fs::write(
            &events,
            serde_json::to_string(&serde_json::json!({"events": run.events}))?,
        )?;
        let title = format!(
            "drill {drill} ({}){}",
            run.label,
            if short { ", short" } else { "" }
        );
        let plotted = k6::plot(tools, &run.csv, &png, &title, Some(&events));
        let _ = std::fs::remove_file(&events);
        plotted?;
        run.plot = png
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    let json = dir.join(format!("{}{suffix}.json", result.drill));
    std::fs::write(&json, serde_json::to_string_pretty(&result)? + "\n")
        .with_context(|| format!("writing {}", json.display()))?;
    if !short {
        update_docs(result)?;
    }
    Ok(json)
}

fn section(result: &DrillResult) -> String {
    let verdict = if result.passed {
        "**PASS**"
    } else {
        "**FAIL**"
    };
    let mut text = format!(
        "Last run: {} · commit `{}` · {} · {:.0} s · load average at start {} · {verdict} · [result JSON](drills/{}.json)\n\n| target | must hold | measured | result |\n|---|---|---|---|\n",
        result.date,
        result.commit,
        result.binary,
        result.wall_seconds,
        result.load_average,
        result.drill
    );
    for target in &result.targets {
        text.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            target.name,
            target.must_hold.replace('|', "/"),
            target.measured.replace('|', "/"),
            if target.passed { "met" } else { "**MISSED**" }
        ));
    }
    text.push_str("\n| k6 run | requests | failed | p50 ms | p99 ms | max ms | statuses |\n|---|---|---|---|---|---|---|\n");
    for run in &result.runs {
        let t = &run.totals;
        let statuses: Vec<String> = t
            .by_status
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        text.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.0} | {} |\n",
            run.label,
            t.requests,
            t.failed,
            t.p50_ms,
            t.p99_ms,
            t.max_ms,
            statuses.join(", ")
        ));
    }
    for run in &result.runs {
        text.push_str(&format!(
            "\n![{} {}](drills/{})\n",
            result.drill, run.label, run.plot
        ));
    }
    text
}

fn update_docs(result: &DrillResult) -> Result<()> {
    let path = cmd::workspace_root().join("docs/drills.md");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let start = format!("<!-- drill:{}:start -->", result.drill);
    let end = format!("<!-- drill:{}:end -->", result.drill);
    let (Some(a), Some(b)) = (text.find(&start), text.find(&end)) else {
        bail!("docs/drills.md lacks the markers {start} … {end}");
    };
    let new = format!(
        "{}{start}\n{}{end}{}",
        &text[..a],
        section(result),
        &text[b + end.len()..]
    );
    std::fs::write(&path, new)?;
    Ok(())
}

/// A path relative to the repository, for messages.
pub fn relative(path: &Path) -> String {
    path.strip_prefix(cmd::workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}
