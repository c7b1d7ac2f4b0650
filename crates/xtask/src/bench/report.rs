//! `docs/benchmarks.md`: results, targets, method, machine.

use std::fmt::Write as _;
use std::time::Duration;

use super::cpu::{CpuProfile, REQUESTS};
use super::data::SHAPES;
use super::pgbench::Statements;
use super::scenarios::{Db, Kind, Measurement, Plan, Scenario};

/// Everything one bench run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub rows: Vec<Row>,
    /// pgbench with the same statements, one per PostgreSQL round and kind.
    pub limits: Vec<Limit>,
    pub data: Vec<DataRow>,
    pub cpu: Vec<CpuProfile>,
}

/// The database's own rate for one request's statements.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub statements: Statements,
    pub tps: f64,
    /// PostgreSQL CPU time per pgbench transaction, µs.
    pub db_cpu_us: f64,
}

/// All rounds of one data-scale page read on one database.
#[derive(Debug, Clone)]
pub struct DataRow {
    pub db: Db,
    pub shape: &'static str,
    pub rounds: Vec<Measurement>,
}

impl DataRow {
    pub fn rps(&self) -> f64 {
        median(self.rounds.iter().map(|m| m.wrk.rps()))
    }
    pub fn p99_ms(&self) -> f64 {
        median(self.rounds.iter().map(|m| m.wrk.p99_us / 1000.0))
    }
    pub fn errors(&self) -> u64 {
        self.rounds.iter().map(|m| m.wrk.errors()).sum()
    }
}

fn limit(results: &Results, statements: Statements) -> Option<f64> {
    let tps: Vec<f64> = results
        .limits
        .iter()
        .filter(|l| l.statements == statements)
        .map(|l| l.tps)
        .collect();
    (!tps.is_empty()).then(|| median(tps.into_iter()))
}

/// Password-hash permits of the measured server (`USERHUB_HASH_CONCURRENCY`
/// defaults to the CPU count).
fn hash_permits(nproc: usize) -> f64 {
    nproc.max(1) as f64
}

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
    pub fn api_cpu_us(&self) -> f64 {
        median(self.rounds.iter().map(|m| m.api_cpu_us))
    }
    pub fn db_cpu_us(&self) -> f64 {
        median(self.rounds.iter().map(|m| m.db_cpu_us))
    }
    pub fn side_rps(&self) -> Option<f64> {
        let sides: Vec<f64> = self
            .rounds
            .iter()
            .filter_map(|m| m.side.map(|s| s.rps()))
            .collect();
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

pub fn checks(results: &Results, startup: &Startup, nproc: usize) -> Vec<Check> {
    let rows = &results.rows;
    let mut checks = Vec::new();
    if let Some(row) = find(rows, Db::Postgres, Kind::Items, 32) {
        let (measured, pass) = match limit(results, Statements::ItemsRead) {
            Some(tps) => (
                format!(
                    "{:.0} req/s = {:.0} % of pgbench's {tps:.0}/s; p99 {:.2} ms",
                    row.rps(),
                    100.0 * row.rps() / tps,
                    row.p99_ms()
                ),
                row.rps() >= 0.6 * tps && row.p99_ms() < 10.0,
            ),
            None => (format!("{:.0} req/s (pgbench not run)", row.rps()), false),
        };
        checks.push(Check {
            target: "1. items read, PostgreSQL, 32 connections: ≥ 60 % of pgbench running the same statements in the same round, p99 < 10 ms".into(),
            measured,
            pass,
        });
    }
    if let Some(row) = find(rows, Db::Postgres, Kind::Items, 128) {
        checks.push(Check {
            target: "1. items read, PostgreSQL, 128 connections: zero errors and p99 < 40 ms"
                .into(),
            measured: format!("{} errors, p99 {:.2} ms", row.errors(), row.p99_ms()),
            pass: row.errors() == 0 && row.p99_ms() < 40.0,
        });
    }
    if let Some(row) = find(rows, Db::Postgres, Kind::Create, 32) {
        let (measured, pass) = match limit(results, Statements::Create) {
            Some(tps) => (
                format!(
                    "{:.0} req/s = {:.0} % of pgbench's {tps:.0}/s",
                    row.rps(),
                    100.0 * row.rps() / tps
                ),
                row.rps() >= 0.6 * tps,
            ),
            None => (format!("{:.0} req/s (pgbench not run)", row.rps()), false),
        };
        checks.push(Check {
            target: "2. create, PostgreSQL, 32 connections: ≥ 60 % of pgbench running the same insert and user lookup".into(),
            measured,
            pass,
        });
    }
    if let (Some(sqlite), Some(pg)) = (
        find(rows, Db::Sqlite, Kind::Items, 32),
        find(rows, Db::Postgres, Kind::Items, 32),
    ) {
        checks.push(Check {
            target: "3. items read, 32 connections: SQLite ≥ 1.5× PostgreSQL".into(),
            measured: format!(
                "{:.0} vs {:.0} req/s ({:.2}×)",
                sqlite.rps(),
                pg.rps(),
                sqlite.rps() / pg.rps()
            ),
            pass: sqlite.rps() >= 1.5 * pg.rps(),
        });
    }
    for db in [Db::Postgres, Db::Sqlite] {
        let data: Vec<&DataRow> = results.data.iter().filter(|r| r.db == db).collect();
        if let Some(base) = data.iter().find(|r| r.shape == SHAPES[0]) {
            for row in data.iter().filter(|r| r.shape != SHAPES[0]) {
                let ratio = row.p99_ms() / base.p99_ms();
                checks.push(Check {
                    target: format!(
                        "4. flat with data, {}: {} p99 ≤ 2× {}",
                        db.label(),
                        row.shape,
                        SHAPES[0]
                    ),
                    measured: format!(
                        "p99 {:.2} ms vs {:.2} ms ({ratio:.2}×), {} errors",
                        row.p99_ms(),
                        base.p99_ms(),
                        row.errors()
                    ),
                    pass: ratio <= 2.0 && row.errors() == 0,
                });
            }
        }
    }
    let login_rss = 64.0 * hash_permits(nproc) + 32.0;
    for db in [Db::Postgres, Db::Sqlite] {
        if let Some(row) = find(rows, db, Kind::Login, 8) {
            checks.push(Check {
                target: format!(
                    "6. login, {}, 8 clients: peak RSS ≤ 64 MiB × {} hash permits + 32 MiB = {login_rss:.0} MiB (throughput is bound by the hash cost)",
                    db.label(),
                    hash_permits(nproc)
                ),
                measured: format!("{:.1} logins/s, peak RSS {:.1} MiB", row.rps(), row.rss_mib()),
                pass: row.rss_mib() <= login_rss,
            });
        }
        let item_rows: Vec<&Row> = [32, 128]
            .into_iter()
            .filter_map(|c| find(rows, db, Kind::Items, c))
            .collect();
        if !item_rows.is_empty() {
            let peak = item_rows.iter().map(|r| r.rss_mib()).fold(0.0, f64::max);
            checks.push(Check {
                target: format!("6. peak RSS under items load, {}: ≤ 32 MiB", db.label()),
                measured: format!("{peak:.1} MiB (largest of the 32- and 128-connection runs)"),
                pass: peak <= 32.0,
            });
        }
        if let (Some(quiet), Some(busy)) = (
            find(rows, db, Kind::Items, 32),
            find(rows, db, Kind::ItemsDuringLogins, 32),
        ) {
            checks.push(Check {
                target: format!(
                    "6. items read p99 while 8 clients log in, {}: ≤ 1.5× quiet p99",
                    db.label()
                ),
                measured: format!(
                    "{:.2} ms vs quiet {:.2} ms ({:.2}×)",
                    busy.p99_ms(),
                    quiet.p99_ms(),
                    busy.p99_ms() / quiet.p99_ms()
                ),
                pass: busy.p99_ms() <= 1.5 * quiet.p99_ms(),
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

pub fn render(ctx: &Context, results: &Results, startup: &Startup) -> String {
    let rows = &results.rows;
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
    let _ = writeln!(
        out,
        "Where the time goes, what each change bought, and what a missed target would need: [performance.md](performance.md) (kept by hand). What these figures mean for replicas, database cores and connections: [capacity.md](capacity.md).\n"
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
    let _ = writeln!(
        out,
        "| load generator | {} (same machine, loopback) |",
        ctx.wrk
    );
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
    let _ = writeln!(
        out,
        "| bench wall time | {:.1} min |\n",
        ctx.total.as_secs_f64() / 60.0
    );

    let _ = writeln!(out, "## Targets\n");
    let _ = writeln!(out, "| target | measured | result |\n|---|---|---|");
    for check in checks(results, startup, ctx.nproc) {
        let result = if check.pass { "PASS" } else { "**MISS**" };
        let _ = writeln!(out, "| {} | {} | {result} |", check.target, check.measured);
    }

    let _ = writeln!(out, "\n## Results\n");
    let _ = writeln!(
        out,
        "| scenario | database | connections | req/s | p50 ms | p99 ms | errors / requests | peak RSS MiB | API CPU µs/req | PostgreSQL CPU µs/req |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        let db_cpu = match row.db {
            Db::Postgres => format!("{:.0}", row.db_cpu_us()),
            Db::Sqlite => "–".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.2} | {} / {} | {:.1} | {:.0} | {db_cpu} |",
            row.scenario.label(),
            row.db.label(),
            row.scenario.connections,
            rate(row.rps()),
            row.p50_ms(),
            row.p99_ms(),
            row.errors(),
            row.requests(),
            row.rss_mib(),
            row.api_cpu_us()
        );
        if let Some(side) = row.side_rps() {
            let _ = writeln!(
                out,
                "| ↳ the 8 concurrent login clients | {} | 8 | {side:.1} | | | | | | |",
                row.db.label()
            );
        }
    }

    if !results.limits.is_empty() {
        let _ = writeln!(out, "\n## The database's own limit (pgbench)\n");
        let _ = writeln!(
            out,
            "`pgbench -M prepared -c 32 -j 2` runs exactly the statements one request sends (the token's user by id, then the page with its count, or the insert), on the same PostgreSQL server and rows, right after the API load of the same round.\n"
        );
        let _ = writeln!(
            out,
            "| statements | rounds | median tps | API req/s (median) | API / pgbench | PostgreSQL CPU µs per pgbench transaction | per API request |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        for (statements, kind, label) in [
            (
                Statements::ItemsRead,
                Kind::Items,
                "user by id + items page with count",
            ),
            (Statements::Create, Kind::Create, "user by id + item insert"),
        ] {
            if let (Some(tps), Some(row)) = (
                limit(results, statements),
                find(rows, Db::Postgres, kind, 32),
            ) {
                let n = results
                    .limits
                    .iter()
                    .filter(|l| l.statements == statements)
                    .count();
                let db_cpu = median(
                    results
                        .limits
                        .iter()
                        .filter(|l| l.statements == statements)
                        .map(|l| l.db_cpu_us),
                );
                let _ = writeln!(
                    out,
                    "| {label} | {n} | {tps:.0} | {:.0} | {:.0} % | {db_cpu:.0} | {:.0} |",
                    row.rps(),
                    100.0 * row.rps() / tps,
                    row.db_cpu_us()
                );
            }
        }
    }

    if !results.data.is_empty() {
        let _ = writeln!(out, "\n## Flat with data\n");
        let _ = writeln!(
            out,
            "A fresh database per backend holding 1,000,000 items (one owner with 100,000, 8,999 owners with 100, the bench reader with 100) and 100,101 users, written with SQL; pages of 20 read through the API at 32 connections.\n"
        );
        let _ = writeln!(
            out,
            "| page | database | req/s | p99 ms | p99 / first row | errors |\n|---|---|---:|---:|---:|---:|"
        );
        for db in [Db::Postgres, Db::Sqlite] {
            let base = results
                .data
                .iter()
                .find(|r| r.db == db && r.shape == SHAPES[0]);
            for row in results.data.iter().filter(|r| r.db == db) {
                let ratio = base.map_or(f64::NAN, |b| row.p99_ms() / b.p99_ms());
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.2} | {ratio:.2}× | {} |",
                    row.shape,
                    db.label(),
                    rate(row.rps()),
                    row.p99_ms(),
                    row.errors()
                );
            }
        }
    }

    if !results.cpu.is_empty() {
        let _ = writeln!(out, "\n## CPU per request (callgrind)\n");
        let _ = writeln!(
            out,
            "Instructions the server executed per request (all threads; SQLite's engine runs in the process and is included), counted by `valgrind --tool=callgrind` over {} sequential keep-alive requests after 30 warm-up requests. Repeatable to within a fraction of a percent, whatever else the machine is doing.\n",
            REQUESTS + 1
        );
        let _ = writeln!(
            out,
            "| build | request | instructions / request | largest shares (self cost, by the code that ran) |\n|---|---|---:|---|"
        );
        for profile in &results.cpu {
            for row in &profile.rows {
                let shares: Vec<String> = row
                    .buckets
                    .iter()
                    .filter(|(_, share)| *share >= 0.03)
                    .map(|(bucket, share)| format!("{bucket} {:.0} %", share * 100.0))
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.0} | {} |",
                    profile.label,
                    row.shape,
                    row.instructions_per_request,
                    shares.join("; ")
                );
            }
        }
        if let (Some(now), Some(base)) = (
            results
                .cpu
                .iter()
                .find(|p| p.label.starts_with("this commit")),
            results.cpu.iter().find(|p| p.label.starts_with("baseline")),
        ) {
            let _ = writeln!(
                out,
                "\nBefore and after (`--baseline`: the build this work started from, profiled in the same run):\n"
            );
            let _ = writeln!(
                out,
                "| request | baseline instructions | this commit | change |\n|---|---:|---:|---:|"
            );
            for row in &now.rows {
                if let Some(before) = base.rows.iter().find(|r| r.shape == row.shape) {
                    let change = 100.0
                        * (row.instructions_per_request / before.instructions_per_request - 1.0);
                    let _ = writeln!(
                        out,
                        "| {} | {:.0} | {:.0} | {change:+.0} % |",
                        row.shape, before.instructions_per_request, row.instructions_per_request
                    );
                }
            }
        }
        for profile in &results.cpu {
            let _ = writeln!(
                out,
                "\nMost expensive functions ({}), self cost as a share of the request:\n",
                profile.label
            );
            for row in &profile.rows {
                let top: Vec<String> = row
                    .top_functions
                    .iter()
                    .take(5)
                    .map(|(f, share)| {
                        format!(
                            "`{}` {:.1} %",
                            f.chars().take(90).collect::<String>(),
                            share * 100.0
                        )
                    })
                    .collect();
                let _ = writeln!(out, "- {}: {}", row.shape, top.join(", "));
            }
        }
    }

    if !startup.fresh.is_empty() {
        let _ = writeln!(out, "\n## Start to ready (SQLite)\n");
        let _ = writeln!(
            out,
            "Process spawn until `GET /readyz` answers 200 (polled every 1 ms), `userhub api`.\n"
        );
        let _ = writeln!(
            out,
            "| database file | runs | median ms | min ms | max ms |\n|---|---:|---:|---:|---:|"
        );
        for (label, runs) in [
            ("new (migrations + first superuser)", &startup.fresh),
            (
                "existing (second start on the same file)",
                &startup.existing,
            ),
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
    let _ = writeln!(
        out,
        "| scenario | database | connections | round | req/s | p50 ms | p99 ms | max ms | errors | peak RSS MiB |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
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
    let _ = writeln!(
        out,
        "- Server: `target/release/userhub api` (release build), `ENVIRONMENT=production`, rate limits raised (`USERHUB_IP_BURST=100000000`, `USERHUB_LOGIN_MAX_FAILURES=1000000`) so the limiter does not shape the load. PostgreSQL 15 is a throwaway local cluster (`fsync=off`, `synchronous_commit=off`, `full_page_writes=off`), so write figures are upper bounds for a durable setup; SQLite uses a file in a temporary directory."
    );
    let _ = writeln!(
        out,
        "- Each round starts a new server on a new database, signs up a reader (100 items) and a writer, checks `GET /items/?limit=20` returns 20 of 100, then runs the scenarios in the order listed. Creates go to the writer, so the reader's listing stays at 100 items."
    );
    let _ = writeln!(
        out,
        "- req/s, p50, p99 and peak RSS are medians over rounds; errors and requests are summed over the measured periods of all rounds. p50/p99 are wrk's latency percentiles over all requests of the measured period."
    );
    let _ = writeln!(
        out,
        "- errors = responses with status ≥ 400 plus connect/read/write errors and timeouts (10 s). wrk counts 3xx as success; the routes measured answer 200 directly (checked before each round)."
    );
    let _ = writeln!(
        out,
        "- CPU µs/req: user + system CPU time of the server process (API) and of all PostgreSQL processes over the measured period (`/proc/PID/stat`), divided by the requests answered in it (all loads of the scenario); the capacity model in capacity.md starts from these."
    );
    let _ = writeln!(
        out,
        "- peak RSS: the server's `VmHWM` (reset through `/proc/PID/clear_refs` before the measured period) and `VmRSS` polled every 20 ms; the larger is reported."
    );
    let _ = writeln!(
        out,
        "- The load generator runs on the same {}-CPU machine as the server and the database, so it takes CPU time from them; absolute figures are lower than with a separate load host.",
        ctx.nproc
    );
    out
}
