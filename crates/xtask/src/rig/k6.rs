//! Running k6 and reading what it wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::venv::Tools;
use crate::cmd;

/// One k6 run's files.
#[derive(Debug, Clone)]
pub struct Files {
    pub csv: PathBuf,
    pub summary: PathBuf,
    pub console: PathBuf,
    pub log: PathBuf,
    pub html: Option<PathBuf>,
}

impl Files {
    pub fn in_dir(dir: &Path, name: &str, html: Option<PathBuf>) -> Self {
        Self {
            csv: dir.join(format!("{name}.csv")),
            summary: dir.join(format!("{name}-summary.json")),
            console: dir.join(format!("{name}-console.jsonl")),
            log: dir.join(format!("{name}-k6.log")),
            html,
        }
    }
}

/// A k6 run in the background (drills inject faults meanwhile).
#[derive(Debug)]
pub struct Running {
    child: Option<Child>,
    pub files: Files,
    started: Instant,
    limit: Duration,
}

/// Start `k6 run script` with `env`; `limit` bounds its wall time (k6 is
/// killed past it and the run fails).
pub fn spawn(
    tools: &Tools,
    script: &str,
    env: &[(String, String)],
    files: Files,
    limit: Duration,
) -> Result<Running> {
    let script = cmd::workspace_root().join("loadtest").join(script);
    let mut command = Command::new(&tools.k6);
    command
        .arg("run")
        .arg("--quiet")
        .arg("--no-usage-report")
        .args(["--log-format", "raw"])
        .arg(format!("--log-output=file={}", files.log.display()))
        .arg(format!("--console-output={}", files.console.display()))
        .arg(format!("--summary-export={}", files.summary.display()))
        .arg(format!("--out=csv={}", files.csv.display()))
        .arg("--system-tags=status,method,name,scenario,expected_response,error_code")
        .env("K6_CSV_TIME_FORMAT", "unix_milli")
        .env("K6_NO_USAGE_REPORT", "true");
    if let Some(html) = &files.html {
        command
            .env("K6_WEB_DASHBOARD", "true")
            .env("K6_WEB_DASHBOARD_PORT", "-1")
            .env("K6_WEB_DASHBOARD_PERIOD", "2s")
            .env("K6_WEB_DASHBOARD_EXPORT", html);
    }
    for (key, value) in env {
        command.arg("-e").arg(format!("{key}={value}"));
    }
    command.arg(&script).stdin(Stdio::null());
    println!("$ {}", cmd::display(&command));
    let child = command.spawn().context("spawning k6")?;
    Ok(Running {
        child: Some(child),
        files,
        started: Instant::now(),
        limit,
    })
}

impl Running {
    /// Wait for k6 to finish; its exit code (99 = a threshold was crossed).
    pub fn wait(mut self) -> Result<(i32, Files)> {
        let mut child = self.child.take().context("k6 already waited for")?;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok((status.code().unwrap_or(-1), self.files.clone()));
            }
            if self.started.elapsed() > self.limit {
                let _ = child.kill();
                let _ = child.wait();
                bail!("k6 ran longer than its bound of {:?}; killed", self.limit);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP request as k6 recorded it.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Unix ms when the request ended.
    pub at_ms: i64,
    pub status: u16,
    pub duration_ms: f64,
    pub name: String,
    pub scenario: String,
    pub error_code: String,
}

impl Sample {
    /// No answer (status 0) or a 5xx.
    pub fn failed(&self) -> bool {
        self.status == 0 || self.status >= 500
    }

    /// A 2xx answer.
    pub fn is_2xx(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One row of k6's CSV output: unix ms, value, every column by name.
pub type Row = (i64, f64, BTreeMap<String, String>);

/// Rows of one metric from k6's CSV output.
pub fn metric_rows(csv: &Path, metric: &str) -> Result<Vec<Row>> {
    let text =
        std::fs::read_to_string(csv).with_context(|| format!("reading {}", csv.display()))?;
    let mut lines = text.lines();
    let header: Vec<String> = split_csv(lines.next().context("empty k6 CSV")?);
    let mut rows = Vec::new();
    for line in lines {
        if !line.starts_with(metric) {
            continue;
        }
        let fields = split_csv(line);
        if fields.first().map(String::as_str) != Some(metric) {
            continue;
        }
        let columns: BTreeMap<String, String> =
            header.iter().cloned().zip(fields.iter().cloned()).collect();
        let at = columns
            .get("timestamp")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let value = columns
            .get("metric_value")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        rows.push((at, value, columns));
    }
    Ok(rows)
}

/// Every request of a run.
pub fn samples(csv: &Path) -> Result<Vec<Sample>> {
    Ok(metric_rows(csv, "http_req_duration")?
        .into_iter()
        .map(|(at_ms, duration_ms, columns)| Sample {
            at_ms,
            status: columns
                .get("status")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            duration_ms,
            name: columns.get("name").cloned().unwrap_or_default(),
            scenario: columns.get("scenario").cloned().unwrap_or_default(),
            error_code: columns.get("error_code").cloned().unwrap_or_default(),
        })
        .collect())
}

fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Aggregate figures of a set of samples.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub requests: usize,
    pub failed: usize,
    pub by_status: BTreeMap<String, usize>,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub fn totals(samples: &[Sample]) -> Totals {
    let mut by_status = BTreeMap::new();
    for sample in samples {
        let key = if sample.status == 0 {
            format!("error {}", sample.error_code)
        } else {
            sample.status.to_string()
        };
        *by_status.entry(key).or_insert(0) += 1;
    }
    let mut durations: Vec<f64> = samples.iter().map(|s| s.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    Totals {
        requests: samples.len(),
        failed: samples.iter().filter(|s| s.failed()).count(),
        by_status,
        p50_ms: percentile(&durations, 0.50),
        p95_ms: percentile(&durations, 0.95),
        p99_ms: percentile(&durations, 0.99),
        max_ms: durations.last().copied().unwrap_or(0.0),
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// An acknowledged write, from drill.js's console output.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Ack {
    pub ack: String,
    pub sent: i64,
    pub acked: i64,
}

pub fn acks(console: &Path) -> Result<Vec<Ack>> {
    let text = std::fs::read_to_string(console).unwrap_or_default();
    Ok(text
        .lines()
        .filter(|line| line.starts_with("{\"ack\""))
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

/// Render a PNG of the run with the virtualenv's matplotlib (loadtest/plot.py).
pub fn plot(
    tools: &Tools,
    csv: &Path,
    png: &Path,
    title: &str,
    events: Option<&Path>,
) -> Result<()> {
    let mut command = Command::new(&tools.python);
    command
        .arg(cmd::workspace_root().join("loadtest/plot.py"))
        .arg(csv)
        .arg(png)
        .arg(title);
    if let Some(events) = events {
        command.arg(events);
    }
    let output = command
        .env("MPLBACKEND", "Agg")
        .output()
        .context("running plot.py")?;
    if !output.status.success() {
        bail!(
            "plot.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
