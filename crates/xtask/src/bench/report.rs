//! `docs/benchmarks.md`: results, targets, method, machine.

use std::fmt::Write as _;
use std::time::Duration;

use super::scenarios::{Db, Kind, Measurement, Plan, Scenario};

/// All rounds of one scenario on one database.
#[derive(Debug, Clone)]
pub struct Row {
    pub db: Db,
    pub scenario: Scenario,
    pub rounds: Vec<Measurement>,
}

impl Row {
    pub fn rps(&self) -> f64 {
        median(self.rounds.iter().map(|m| m.wrk.rps()))
    }
    pub fn p50_ms(&self) -> f64 {
        median(self.rounds.iter().map(|m| m.wrk.p50_us / 1000.0))
    }
    pub fn p99_ms(&self) -> f64 {
        median(self.rounds.iter().map(|m| m.wrk.p99_us / 1000.0))
    }
    pub fn errors(&self) -> u64 {
        self.rounds.iter().map(|m| m.wrk.errors()).sum()
    }
    pub fn requests(&self) -> u64 {
        self.rounds.iter().map(|m| m.wrk.requests).sum()
    }
    pub fn rss_mib(&self) -> f64 {
        median(self.rounds.iter().map(|m| m.peak_rss_mib))
    }
    pub fn side_rps(&self) -> Option<f64> {
        let sides: Vec<f64> = self.rounds.iter().filter_map(|m| m.side.map(|s| s.rps())).collect();
        (!sides.is_empty()).then(|| median(sides.into_iter()))
    }
}

/// Start-to-ready timings on SQLite.
#[derive(Debug, Clone, Default)]
pub struct Startup {
    pub fresh: Vec<Duration>,
    pub existing: Vec<Duration>,
}

/// Everything the report says about where and how it was measured.
#[derive(Debug, Clone)]
pub struct Context {
    pub command: String,
    pub quick: bool,
    pub date: String,
    pub commit: String,
    pub nproc: usize,
    pub cpu: String,
    pub memory: String,
    pub kernel: String,
    pub rustc: String,
    pub wrk: String,
    pub load_before: String,
    pub load_after: String,
    pub plan: Plan,
    pub total: Duration,
}

pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Requests per second: whole numbers, one decimal below 100.
fn rate(rps: f64) -> String {
    if rps < 100.0 {
        format!("{rps:.1}")
    } else {
        format!("{rps:.0}")
    }
}

fn median_ms(values: &[Duration]) -> f64 {
    median(values.iter().map(|d| d.as_secs_f64() * 1000.0))
}

/// A target beside its measurement.
#[derive(Debug, Clone)]
pub struct Check {
    pub target: String,
    pub measured: String,
    pub pass: bool,
}

fn find(rows: &[Row], db: Db, kind: Kind, connections: u32) -> Option<&Row> {
    rows.iter().find(|row| {
        row.db == db && row.scenario.kind == kind && row.scenario.connections == connections
    })
}

pub fn checks(rows: &[Row], startup: &Startup) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(row) = find(rows, Db::Postgres, Kind::Items, 32) {
        checks.push(Check {
            target: "items read, PostgreSQL, 32 connections: ≥ 4000 req/s and p99 < 20 ms".into(),
            measured: format!("{:.0} req/s, p99 {:.2} ms", row.rps(), row.p99_ms()),
            pass: row.rps() >= 4000.0 && row.p99_ms() < 20.0,
        });
    }
    if let Some(row) = find(rows, Db::Postgres, Kind::Items, 128) {
        checks.push(Check {
            target: "items read, PostgreSQL, 128 connections: zero errors and p99 < 100 ms".into(),
            measured: format!("{} errors, p99 {:.2} ms", row.errors(), row.p99_ms()),
            pass: row.errors() == 0 && row.p99_ms() < 100.0,
        });
    }
    for db in [Db::Postgres, Db::Sqlite] {
        if let Some(row) = find(rows, db, Kind::Create, 32) {
            checks.push(Check {
                target: format!("create, {}, 32 connections: ≥ 2000 req/s and p99 < 30 ms", db.label()),
                measured: format!("{:.0} req/s, p99 {:.2} ms", row.rps(), row.p99_ms()),
                pass: row.rps() >= 2000.0 && row.p99_ms() < 30.0,
            });
        }
        if let Some(row) = find(rows, db, Kind::Login, 8) {
            checks.push(Check {
                target: format!("login, {}, 8 clients: ≥ 10 logins/s and peak RSS < 200 MiB", db.label()),
                measured: format!("{:.1} logins/s, peak RSS {:.1} MiB", row.rps(), row.rss_mib()),
                pass: row.rps() >= 10.0 && row.rss_mib() < 200.0,
            });
        }
        let item_rows: Vec<&Row> = [32, 128]
            .into_iter()
            .filter_map(|c| find(rows, db, Kind::Items, c))
            .collect();
        if !item_rows.is_empty() {
            let peak = item_rows.iter().map(|r| r.rss_mib()).fold(0.0, f64::max);
            checks.push(Check {
                target: format!("peak RSS under items load, {}: ≤ 64 MiB", db.label()),
                measured: format!("{peak:.1} MiB (largest of the 32- and 128-connection runs)"),
                pass: peak <= 64.0,
            });
        }
        if let (Some(quiet), Some(busy)) = (
            find(rows, db, Kind::Items, 32),
            find(rows, db, Kind::ItemsDuringLogins, 32),
        ) {
            checks.push(Check {
                target: format!("items read p99 while 8 logins run, {}: ≤ 2× quiet p99", db.label()),
                measured: format!(
                    "{:.2} ms vs quiet {:.2} ms ({:.2}×)",
                    busy.p99_ms(),
                    quiet.p99_ms(),
                    busy.p99_ms() / quiet.p99_ms()
                ),
                pass: busy.p99_ms() <= 2.0 * quiet.p99_ms(),
            });
        }
    }
    if !startup.fresh.is_empty() {
        let fresh = median_ms(&startup.fresh);
        checks.push(Check {
            target: "start to ready on SQLite (new database file): < 200 ms".into(),
            measured: format!("median {fresh:.1} ms over {} runs", startup.fresh.len()),
            pass: fresh < 200.0,
        });
    }
    checks
}

pub fn render(ctx: &Context, rows: &[Row], startup: &Startup) -> String {
    let mut out = String::new();
    let plan = &ctx.plan;
    let _ = writeln!(out, "# Benchmarks\n");
    if ctx.quick {
        let _ = writeln!(
            out,
            "> **QUICK SMOKE RUN (`--quick`): {} s warm-up, {} s measured, {} round. These figures only show that the benchmark works; they are not performance results.**\n",
            plan.warmup.as_secs(),
            plan.measure.as_secs(),
            plan.rounds
        );
    }
    let _ = writeln!(
        out,
        "Generated by `{}`; do not edit by hand, re-run the command. Performance claims about Userhub cite this file.\n",
        ctx.command
    );
    let _ = writeln!(
        out,
        "The cost of trace export and the `/metrics` scrape time under load are measured by `cargo xtask bench telemetry`; results in [observability.md](observability.md#overhead-benchmark).\n"
    );
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| command | `{}` |", ctx.command);
    let _ = writeln!(out, "| date (UTC) | {} |", ctx.date);
    let _ = writeln!(out, "| git commit | `{}` |", ctx.commit);
    let _ = writeln!(out, "| CPUs (`nproc`) | {} |", ctx.nproc);
    let _ = writeln!(out, "| CPU model | {} |", ctx.cpu);
    let _ = writeln!(out, "| memory | {} |", ctx.memory);
    let _ = writeln!(out, "| kernel | {} |", ctx.kernel);
    let _ = writeln!(out, "| toolchain | {} |", ctx.rustc);
    let _ = writeln!(out, "| load generator | {} (same machine, loopback) |", ctx.wrk);
    let _ = writeln!(
        out,
        "| load average (1/5/15 min) | before: {}; after: {} (other work on the machine competes for the same CPUs) |",
        ctx.load_before, ctx.load_after
    );
    let _ = writeln!(
        out,
        "| method | {} s warm-up, {} s measured, median of {} round(s), fresh database and server per round, HTTP/1.1 keep-alive |",
        plan.warmup.as_secs(),
        plan.measure.as_secs(),
        plan.rounds
    );
    let _ = writeln!(out, "| bench wall time | {:.1} min |\n", ctx.total.as_secs_f64() / 60.0);

    let _ = writeln!(out, "## Targets\n");
    let _ = writeln!(out, "| target | measured | result |\n|---|---|---|");
    for check in checks(rows, startup) {
        let result = if check.pass { "PASS" } else { "**MISS**" };
        let _ = writeln!(out, "| {} | {} | {result} |", check.target, check.measured);
    }

    let _ = writeln!(out, "\n## Results\n");
    let _ = writeln!(
        out,
        "| scenario | database | connections | req/s | p50 ms | p99 ms | errors / requests | peak RSS MiB |\n|---|---|---:|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.2} | {} / {} | {:.1} |",
            row.scenario.label(),
            row.db.label(),
            row.scenario.connections,
            rate(row.rps()),
            row.p50_ms(),
            row.p99_ms(),
            row.errors(),
            row.requests(),
            row.rss_mib()
        );
        if let Some(side) = row.side_rps() {
            let _ = writeln!(
                out,
                "| ↳ the 8 concurrent login clients | {} | 8 | {side:.1} | | | | |",
                row.db.label()
            );
        }
    }

    if !startup.fresh.is_empty() {
        let _ = writeln!(out, "\n## Start to ready (SQLite)\n");
        let _ = writeln!(
            out,
            "Process spawn until `GET /readyz` answers 200 (polled every 1 ms), `userhub api`.\n"
        );
        let _ = writeln!(out, "| database file | runs | median ms | min ms | max ms |\n|---|---:|---:|---:|---:|");
        for (label, runs) in [
            ("new (migrations + first superuser)", &startup.fresh),
            ("existing (second start on the same file)", &startup.existing),
        ] {
            let ms: Vec<f64> = runs.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
            let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
            let max = ms.iter().copied().fold(0.0, f64::max);
            let _ = writeln!(
                out,
                "| {label} | {} | {:.1} | {min:.1} | {max:.1} |",
                runs.len(),
                median_ms(runs)
            );
        }
    }

    let _ = writeln!(out, "\n## Per round\n");
    let _ = writeln!(out, "| scenario | database | connections | round | req/s | p50 ms | p99 ms | max ms | errors | peak RSS MiB |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        for (i, m) in row.rounds.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {:.1} |",
                row.scenario.slug(),
                row.db.label(),
                row.scenario.connections,
                i + 1,
                rate(m.wrk.rps()),
                m.wrk.p50_us / 1000.0,
                m.wrk.p99_us / 1000.0,
                m.wrk.max_us / 1000.0,
                m.wrk.errors(),
                m.peak_rss_mib
            );
        }
    }

    let _ = writeln!(out, "\n## How to read this\n");
    let _ = writeln!(out, "- Server: `target/release/userhub api` (release build), `ENVIRONMENT=production`, rate limits raised (`USERHUB_IP_BURST=100000000`, `USERHUB_LOGIN_MAX_FAILURES=1000000`) so the limiter does not shape the load. PostgreSQL 15 is a throwaway local cluster (`fsync=off`, `synchronous_commit=off`, `full_page_writes=off`), so write figures are upper bounds for a durable setup; SQLite uses a file in a temporary directory.");
    let _ = writeln!(out, "- Each round starts a new server on a new database, signs up a reader (100 items) and a writer, checks `GET /items/?limit=20` returns 20 of 100, then runs the scenarios in the order listed. Creates go to the writer, so the reader's listing stays at 100 items.");
    let _ = writeln!(out, "- req/s, p50, p99 and peak RSS are medians over rounds; errors and requests are summed over the measured periods of all rounds. p50/p99 are wrk's latency percentiles over all requests of the measured period.");
    let _ = writeln!(out, "- errors = responses with status ≥ 400 plus connect/read/write errors and timeouts (10 s). wrk counts 3xx as success; the routes measured answer 200 directly (checked before each round).");
    let _ = writeln!(out, "- peak RSS: the server's `VmHWM` (reset through `/proc/PID/clear_refs` before the measured period) and `VmRSS` polled every 20 ms; the larger is reported.");
    let _ = writeln!(out, "- The load generator runs on the same {}-CPU machine as the server and the database, so it takes CPU time from them; absolute figures are lower than with a separate load host.", ctx.nproc);
    out
}
