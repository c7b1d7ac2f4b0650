//! `cargo xtask load [scenario]`: k6 user journeys against two `userhub api`
//! replicas and one `userhub web` behind HAProxy, on PostgreSQL.
//!
//! Scenarios (loadtest/userhub.js): smoke, average, stress, spike, soak.
//! The thresholds are the SLOs; a crossed threshold fails the command,
//! except in `stress`, whose purpose is to find where they break. Results:
//! k6's HTML report in docs/load/<scenario>.html and a row of the summary
//! table in docs/load.md (`--no-record`: only under target/load/).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use userhub_testkit::{TestPostgres, create_database};

use crate::cmd;
use crate::rig::{binary, haproxy, k6, stack, venv};

const SCENARIOS: &[(&str, Duration)] = &[
    ("smoke", Duration::from_secs(30)),
    ("average", Duration::from_secs(60)),
    ("stress", Duration::from_secs(160)),
    ("spike", Duration::from_secs(60)),
    ("soak", Duration::from_secs(300)),
];

#[derive(Debug)]
struct Options {
    scenario: &'static str,
    planned: Duration,
    record: bool,
    binary: binary::Source,
}

/// `cargo xtask load [SCENARIO] [--no-record] [--release|--debug|--binary PATH]`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The k6 scenario (loadtest/userhub.js)
    #[arg(default_value = "smoke", value_parser = clap::builder::PossibleValuesParser::new(SCENARIOS.iter().map(|(name, _)| *name)))]
    pub scenario: String,
    /// Leave docs/load.md and docs/load/ alone: results only under target/load/
    #[arg(long)]
    pub no_record: bool,
    #[command(flatten)]
    pub binary: binary::SourceArgs,
}

fn options(args: &Args) -> Result<Options> {
    let Some(&(scenario, planned)) = SCENARIOS.iter().find(|(s, _)| *s == args.scenario) else {
        bail!(
            "unknown load scenario `{}`; scenarios: {}",
            args.scenario,
            SCENARIOS
                .iter()
                .map(|(s, _)| *s)
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    Ok(Options {
        scenario,
        planned,
        record: !args.no_record,
        binary: args.binary.source(),
    })
}

pub fn run(args: &Args) -> Result<()> {
    let options = options(args)?;
    let started = Instant::now();
    let commit = crate::drill::report::commit();
    let load_average = crate::drill::report::load_average();
    let tools = venv::ensure()?;
    haproxy::ensure_installed()?;
    let work = tempfile::Builder::new().prefix("userhub-load-").tempdir()?;
    let binary = options.binary.obtain(work.path())?;

    let postgres = cmd::timed("start PostgreSQL", || {
        TestPostgres::start().context("PostgreSQL for the load test could not be started")
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let database_url = runtime.block_on(create_database(&postgres.admin_url()))?;

    let stack = cmd::timed("start 2 api replicas, web, HAProxy", || {
        stack::Stack::start(
            &stack::Options::new(&binary, database_url, 2, true),
            work.path(),
        )
    })?;

    let out_dir = cmd::workspace_root()
        .join("target/load")
        .join(options.scenario);
    std::fs::create_dir_all(&out_dir)?;
    let html = out_dir.join(format!("{}.html", options.scenario));
    let files = k6::Files::in_dir(&out_dir, "k6", Some(html.clone()));
    let mut env = stack.k6_env();
    env.push(("SCENARIO".into(), options.scenario.into()));
    let rss_before: Vec<u64> = stack.api.iter().filter_map(|p| p.rss_kib()).collect();
    let k6_started = Instant::now();
    let (code, files) = k6::spawn(
        &tools,
        "userhub.js",
        &env,
        files,
        options.planned + Duration::from_secs(180),
    )?
    .wait()?;
    let k6_wall = k6_started.elapsed();
    let rss_after: Vec<u64> = stack.api.iter().filter_map(|p| p.rss_kib()).collect();
    let rss_peak: Vec<u64> = stack.api.iter().filter_map(|p| p.hwm_kib()).collect();
    let web_peak = stack.web.as_ref().and_then(|p| p.hwm_kib()).unwrap_or(0);
    drop(stack);
    drop(postgres);

    if code != 0 && code != 99 {
        bail!(
            "k6 failed with exit code {code} (not a threshold): see {}",
            files.log.display()
        );
    }
    // The journeys' requests; setup() (users and items) has no scenario.
    let samples: Vec<k6::Sample> = k6::samples(&files.csv)?
        .into_iter()
        .filter(|s| !s.scenario.is_empty())
        .collect();
    let totals = k6::totals(&samples);
    let thresholds = crossed_thresholds(&files.summary)?;
    let stress = (options.scenario == "stress").then(|| break_point(&samples));

    let mut row = Row {
        scenario: options.scenario,
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit: commit.clone(),
        binary: options.binary.label(),
        wall: k6_wall,
        span: Duration::from_millis(
            (samples.iter().map(|s| s.at_ms).max().unwrap_or(0)
                - samples.iter().map(|s| s.at_ms).min().unwrap_or(0))
            .max(0) as u64,
        ),
        totals,
        thresholds: thresholds.clone(),
        note: String::new(),
    };
    if let Some(point) = &stress {
        row.note = point.clone();
    }
    if options.scenario == "soak" {
        row.note =
            format!("API RSS start → end (KiB): {rss_before:?} → {rss_after:?}; peak {rss_peak:?}");
    } else if row.note.is_empty() {
        row.note = format!(
            "peak RSS: API {} MiB, web {} MiB",
            rss_peak.iter().max().copied().unwrap_or(0) / 1024,
            web_peak / 1024
        );
    }
    row.note = format!("{}; load average at start {load_average}", row.note);
    let line = row.markdown();
    println!(
        "\n| scenario | date | commit | binary | duration | requests | req/s | failed | p50 ms | p95 ms | p99 ms | max ms | SLO thresholds | note |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n{line}"
    );
    if options.record {
        let docs = cmd::workspace_root().join("docs");
        std::fs::create_dir_all(docs.join("load"))?;
        if html.is_file() {
            std::fs::copy(
                &html,
                docs.join("load").join(format!("{}.html", options.scenario)),
            )?;
        }
        update_table(&docs.join("load.md"), options.scenario, &line)?;
        println!(
            "load: recorded in docs/load.md and docs/load/{}.html",
            options.scenario
        );
    }
    println!(
        "load: {} took {:.0} s in all",
        options.scenario,
        started.elapsed().as_secs_f64()
    );
    if options.scenario != "stress" && !thresholds.is_empty() {
        bail!(
            "SLO thresholds crossed in `{}`: {}",
            options.scenario,
            thresholds.join(", ")
        );
    }
    if code == 99 && options.scenario != "stress" {
        bail!("k6 reported crossed thresholds (exit 99)");
    }
    Ok(())
}

/// Threshold expressions that failed, as `metric: expr`.
fn crossed_thresholds(summary: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(summary)
        .with_context(|| format!("reading k6 summary {}", summary.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)?;
    let mut crossed = Vec::new();
    if let Some(metrics) = doc["metrics"].as_object() {
        for (metric, value) in metrics {
            if let Some(thresholds) = value["thresholds"].as_object() {
                for (expr, failed) in thresholds {
                    // k6's summary export: `true` means the threshold failed.
                    if failed.as_bool() == Some(true) {
                        crossed.push(format!("{metric}: {expr}"));
                    }
                }
            }
        }
    }
    Ok(crossed)
}

/// Where the stress ramp broke the SLO: the first 10 s window whose p99
/// exceeds 500 ms or whose failure ratio exceeds 0.1 %.
fn break_point(samples: &[k6::Sample]) -> String {
    let Some(start) = samples.iter().map(|s| s.at_ms).min() else {
        return "no samples".into();
    };
    let mut windows: std::collections::BTreeMap<i64, Vec<&k6::Sample>> = Default::default();
    for sample in samples {
        windows
            .entry((sample.at_ms - start) / 10_000)
            .or_default()
            .push(sample);
    }
    let mut last_good: Option<(i64, f64, f64)> = None;
    // The first window is warm-up (connections, the first logins); k6
    // itself only judges the thresholds after 30 s.
    for (window, list) in windows.iter().skip(1) {
        let mut durations: Vec<f64> = list.iter().map(|s| s.duration_ms).collect();
        durations.sort_by(f64::total_cmp);
        let p99 = k6::percentile(&durations, 0.99);
        let failed = list.iter().filter(|s| s.failed()).count() as f64 / list.len() as f64;
        let rate = list.len() as f64 / 10.0;
        if p99 > 500.0 || failed > 0.001 {
            let good = last_good
                .map(|(w, r, p)| {
                    format!(
                        "; last window within the SLOs: {}–{} s, {r:.0} req/s, p99 {p:.0} ms",
                        w * 10,
                        w * 10 + 10
                    )
                })
                .unwrap_or_default();
            return format!(
                "SLO broke at {}–{} s: {rate:.0} req/s answered, p99 {p99:.0} ms, {:.2} % failed{good}",
                window * 10,
                window * 10 + 10,
                failed * 100.0
            );
        }
        last_good = Some((*window, rate, p99));
    }
    match last_good {
        Some((_, rate, p99)) => format!(
            "held the SLOs to the end of the ramp: last window {rate:.0} req/s, p99 {p99:.0} ms"
        ),
        None => "no complete window".into(),
    }
}

#[derive(Debug)]
struct Row {
    scenario: &'static str,
    date: String,
    commit: String,
    binary: String,
    wall: Duration,
    /// First to last journey request.
    span: Duration,
    totals: k6::Totals,
    thresholds: Vec<String>,
    note: String,
}

impl Row {
    fn markdown(&self) -> String {
        let t = &self.totals;
        let rate = t.requests as f64 / self.span.as_secs_f64().max(1.0);
        let verdict = if self.thresholds.is_empty() {
            "all met".to_owned()
        } else {
            format!("**crossed**: {}", self.thresholds.join("; "))
        };
        format!(
            "| {} | {} | `{}` | {} | {:.0} s | {} | {:.0} | {} ({:.3} %) | {:.1} | {:.1} | {:.1} | {:.0} | {} | {} |",
            self.scenario,
            self.date,
            self.commit,
            self.binary,
            self.wall.as_secs_f64(),
            t.requests,
            rate,
            t.failed,
            100.0 * t.failed as f64 / t.requests.max(1) as f64,
            t.p50_ms,
            t.p95_ms,
            t.p99_ms,
            t.max_ms,
            verdict,
            self.note.replace('|', "/")
        )
    }
}

const START: &str = "<!-- load-results:start -->";
const END: &str = "<!-- load-results:end -->";

/// Replace (or add) the scenario's row in the results table of docs/load.md.
fn update_table(path: &PathBuf, scenario: &str, line: &str) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (Some(start), Some(end)) = (text.find(START), text.find(END)) else {
        bail!("{} lacks the {START} … {END} markers", path.display());
    };
    let inner = &text[start + START.len()..end];
    let mut rows: Vec<String> = inner
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| scenario"))
        .map(str::to_owned)
        .collect();
    rows.retain(|r| !r.starts_with(&format!("| {scenario} |")));
    rows.push(line.to_owned());
    let order = |r: &String| {
        SCENARIOS
            .iter()
            .position(|(s, _)| r.starts_with(&format!("| {s} |")))
            .unwrap_or(99)
    };
    rows.sort_by_key(order);
    let table = format!(
        "{START}\n| scenario | date | commit | binary | duration | requests | req/s | failed | p50 ms | p95 ms | p99 ms | max ms | SLO thresholds | note |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n{}\n{END}",
        rows.join("\n")
    );
    let new = format!("{}{}{}", &text[..start], table, &text[end + END.len()..]);
    std::fs::write(path, new)?;
    Ok(())
}
