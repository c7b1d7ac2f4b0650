//! `cargo xtask bench`: throughput, latency, errors and memory of the API
//! under load, on SQLite and on PostgreSQL; writes `docs/benchmarks.md`.
//! `cargo xtask bench telemetry` measures the cost of trace export instead.

mod api;
mod cpu;
mod data;
mod machine;
mod pgbench;
mod report;
mod scenarios;
mod server;
mod telemetry;
mod wrk;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use userhub_testkit::{TestPostgres, create_database};

use crate::cmd;
use pgbench::Statements;
use report::{DataRow, Limit, Results, Row, Startup};
use scenarios::{Db, Kind, Plan, SCENARIOS};
use server::Server;

const FULL: Plan = Plan {
    warmup: Duration::from_secs(3),
    measure: Duration::from_secs(15),
    rounds: 3,
    ready_runs: 7,
};

const QUICK: Plan = Plan {
    warmup: Duration::from_secs(1),
    measure: Duration::from_secs(3),
    rounds: 1,
    ready_runs: 3,
};

#[derive(Debug)]
struct Options {
    quick: bool,
    dbs: Vec<Db>,
    out: PathBuf,
    /// The million-row data set (flat-with-data scenarios).
    data: bool,
    /// Instructions per request under callgrind.
    cpu: bool,
    /// An older `userhub` build to profile beside this one.
    baseline: Option<PathBuf>,
}

/// `cargo xtask bench [--quick] [--db sqlite|postgres] [--out FILE] [--no-data]
/// [--no-cpu] [--baseline BINARY]` | `cargo xtask bench telemetry [SECONDS ROUNDS]`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Smoke run: 1 s warm-up, 3 s measured, 1 round; writes target/benchmarks-quick.md
    #[arg(long)]
    pub quick: bool,
    /// One database only
    #[arg(long, value_enum)]
    pub db: Option<Db>,
    /// Write the report here (default docs/benchmarks.md, with --quick target/benchmarks-quick.md)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Skip the million-row scenarios
    #[arg(long)]
    pub no_data: bool,
    /// Skip the callgrind profile
    #[arg(long)]
    pub no_cpu: bool,
    /// Also profile this older `userhub` build under callgrind, side by side
    #[arg(long, value_name = "BINARY")]
    pub baseline: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Trace export overhead and /metrics scrape times (observability/bench/telemetry-overhead.sh)
    Telemetry(telemetry::Args),
}

fn options(args: &Args) -> Options {
    let quick = args.quick;
    let root = cmd::workspace_root();
    let out = args.out.clone().unwrap_or_else(|| {
        if quick {
            root.join("target/benchmarks-quick.md")
        } else {
            root.join("docs/benchmarks.md")
        }
    });
    Options {
        quick,
        dbs: match args.db {
            Some(db) => vec![db],
            None => vec![Db::Sqlite, Db::Postgres],
        },
        out,
        data: !args.no_data,
        cpu: !args.no_cpu,
        baseline: args.baseline.clone(),
    }
}

pub fn run(args: &Args) -> Result<()> {
    if let Some(Command::Telemetry(telemetry)) = &args.command {
        return telemetry::run(telemetry);
    }
    let started = Instant::now();
    // Taken before anything is built: the code measured is the code at this commit.
    let commit = machine::commit();
    let options = options(args);
    let plan = if options.quick { QUICK } else { FULL };
    // As typed: the report names the command that produced it.
    let command = std::iter::once("cargo xtask".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");

    cmd::timed("install load generator", wrk::ensure_installed)?;
    let work = tempfile::Builder::new()
        .prefix("userhub-bench-")
        .tempdir()
        .context("creating the bench work directory")?;
    let built = cmd::timed("build release userhub", build_release)?;
    // A private copy: other checkouts sharing CARGO_TARGET_DIR may rebuild
    // target/release/userhub while the benchmark runs.
    let binary = work.path().join("userhub");
    std::fs::copy(&built, &binary)
        .with_context(|| format!("copying {} to {}", built.display(), binary.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("building a tokio runtime")?;

    let postgres = if options.dbs.contains(&Db::Postgres) {
        Some(cmd::timed("start PostgreSQL", || {
            TestPostgres::start().context("PostgreSQL for the benchmark could not be started")
        })?)
    } else {
        None
    };

    let load_before = machine::load_average();
    let pgbench = match &postgres {
        Some(_) => Some(pgbench::binary()?),
        None => None,
    };
    let mut results = Results::default();
    for &db in &options.dbs {
        for round in 0..plan.rounds {
            let database_url = match (db, &postgres) {
                (Db::Postgres, Some(pg)) => runtime
                    .block_on(create_database(&pg.admin_url()))
                    .context("creating the round's PostgreSQL database")?,
                _ => format!(
                    "sqlite://{}/round-{round}.db?mode=rwc",
                    work.path().display()
                ),
            };
            println!("\n=== {} round {}/{}", db.label(), round + 1, plan.rounds);
            let round_ctx = Round {
                db,
                database_url: &database_url,
                binary: &binary,
                work: work.path(),
                plan: &plan,
                runtime: &runtime,
                pgbench: pgbench.as_deref(),
            };
            run_round(&round_ctx, &mut results)
                .with_context(|| format!("{} round {}", db.label(), round + 1))?;
        }
    }

    if options.data {
        for &db in &options.dbs {
            let database_url = match (db, &postgres) {
                (Db::Postgres, Some(pg)) => runtime
                    .block_on(create_database(&pg.admin_url()))
                    .context("creating the data-scale PostgreSQL database")?,
                _ => format!("sqlite://{}/data.db?mode=rwc", work.path().display()),
            };
            println!("\n=== {} with a million items", db.label());
            data_scale(
                db,
                &database_url,
                &binary,
                work.path(),
                &plan,
                &runtime,
                &mut results,
            )
            .with_context(|| format!("{} data-scale scenarios", db.label()))?;
        }
    }

    if options.cpu {
        cpu::ensure_installed()?;
        let mut binaries = vec![("this commit", binary.clone())];
        if let Some(baseline) = &options.baseline {
            binaries.push(("baseline", baseline.clone()));
        }
        for (label, binary) in binaries {
            let url = format!(
                "sqlite://{}/cpu-{}.db?mode=rwc",
                work.path().display(),
                label.replace(' ', "-")
            );
            let profile = cmd::timed(&format!("callgrind profile ({label}, SQLite)"), || {
                cpu::profile(
                    &format!("{label}, SQLite"),
                    &binary,
                    &url,
                    work.path(),
                    &runtime,
                )
            })?;
            results.cpu.push(profile);
        }
    }

    let startup = if options.dbs.contains(&Db::Sqlite) {
        cmd::timed("start to ready (SQLite)", || {
            start_to_ready(&binary, work.path(), plan.ready_runs)
        })?
    } else {
        Startup::default()
    };
    drop(postgres);

    let ctx = machine::context(
        command,
        options.quick,
        plan,
        started.elapsed(),
        load_before,
        commit,
    );
    let text = report::render(&ctx, &results, &startup);
    if let Some(parent) = options.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&options.out, &text)
        .with_context(|| format!("writing {}", options.out.display()))?;
    println!("\n{text}\nbench: wrote {}", options.out.display());
    Ok(())
}

/// What one round runs against.
struct Round<'a> {
    db: Db,
    database_url: &'a str,
    binary: &'a Path,
    work: &'a Path,
    plan: &'a Plan,
    runtime: &'a tokio::runtime::Runtime,
    pgbench: Option<&'a Path>,
}

fn run_round(round: &Round<'_>, results: &mut Results) -> Result<()> {
    let db = round.db;
    let log = round.work.join(format!("server-{}.log", db.label()));
    let server = Server::start(round.binary, round.database_url, &log)?;
    let fixture = round
        .runtime
        .block_on(api::prepare(&server.base_url()))
        .context("preparing users and items through the API")?;
    for &scenario in SCENARIOS {
        let measurement = scenarios::measure(scenario, &server, &fixture, round.plan, round.work)
            .with_context(|| format!("scenario {}", scenario.slug()))?;
        println!(
            "{:<24} {:<10} {:>8.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {:>6}  peak RSS {:>6.1} MiB",
            scenario.slug(),
            db.label(),
            measurement.wrk.rps(),
            measurement.wrk.p50_us / 1000.0,
            measurement.wrk.p99_us / 1000.0,
            measurement.wrk.errors(),
            measurement.peak_rss_mib
        );
        match results
            .rows
            .iter_mut()
            .find(|row| row.db == db && row.scenario == scenario)
        {
            Some(row) => row.rounds.push(measurement),
            None => results.rows.push(Row {
                db,
                scenario,
                rounds: vec![measurement],
            }),
        }
        // The database's own limit for the same statements, right after.
        let statements = match (scenario.kind, scenario.connections) {
            (Kind::Items, 32) => Some((Statements::ItemsRead, &fixture.reader_id)),
            (Kind::Create, 32) => Some((Statements::Create, &fixture.writer_id)),
            _ => None,
        };
        if let (Some((statements, user)), Some(pgbench), Db::Postgres) =
            (statements, round.pgbench, db)
        {
            let run = pgbench::Run {
                database_url: round.database_url,
                statements,
                user,
                clients: scenario.connections,
                warmup: round.plan.warmup,
                measure: round.plan.measure,
            };
            let (tps, db_cpu_us) = pgbench::run(pgbench, run, round.work)?;
            println!(
                "pgbench {statements:?} c{}: {tps:.0} tps, PostgreSQL CPU {db_cpu_us:.0} µs per transaction",
                scenario.connections
            );
            results.limits.push(Limit {
                statements,
                tps,
                db_cpu_us,
            });
        }
    }
    server.stop()
}

/// The flat-with-data scenarios on a fresh database of `db`.
fn data_scale(
    db: Db,
    database_url: &str,
    binary: &Path,
    work: &Path,
    plan: &Plan,
    runtime: &tokio::runtime::Runtime,
    results: &mut Results,
) -> Result<()> {
    let log = work.join(format!("server-data-{}.log", db.label()));
    let server = Server::start(binary, database_url, &log)?;
    let fixture = runtime
        .block_on(api::prepare(&server.base_url()))
        .context("preparing users and items through the API")?;
    let loads = runtime.block_on(data::prepare(db, database_url, &server, &fixture, 32))?;
    for round in 0..plan.rounds {
        for (shape, load) in &loads.loads {
            let measurement =
                scenarios::measure_loads(std::slice::from_ref(load), &server, plan, work)
                    .with_context(|| format!("data scenario {shape}"))?;
            println!(
                "data round {} {:<44} {:<10} {:>8.1} req/s  p99 {:>8.2} ms  errors {}",
                round + 1,
                shape,
                db.label(),
                measurement.wrk.rps(),
                measurement.wrk.p99_us / 1000.0,
                measurement.wrk.errors()
            );
            match results
                .data
                .iter_mut()
                .find(|row| row.db == db && row.shape == *shape)
            {
                Some(row) => row.rounds.push(measurement),
                None => results.data.push(DataRow {
                    db,
                    shape,
                    rounds: vec![measurement],
                }),
            }
        }
    }
    server.stop()
}

fn start_to_ready(binary: &Path, work: &Path, runs: usize) -> Result<Startup> {
    let mut startup = Startup::default();
    for run in 0..runs {
        let url = format!("sqlite://{}/ready-{run}.db?mode=rwc", work.display());
        let log = work.join("server-ready.log");
        for existing in [false, true] {
            let server = Server::start(binary, &url, &log)?;
            let took = server.start_to_ready;
            server.stop()?;
            println!(
                "start to ready, {} database: {:.1} ms",
                if existing { "existing" } else { "new" },
                took.as_secs_f64() * 1000.0
            );
            if existing {
                startup.existing.push(took);
            } else {
                startup.fresh.push(took);
            }
        }
    }
    Ok(startup)
}

/// `cargo build --release -p userhub`; the path of the `userhub` executable it produced.
fn build_release() -> Result<PathBuf> {
    let mut build = cmd::cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "userhub",
        "--bin",
        "userhub",
        "--message-format=json-render-diagnostics",
    ]);
    println!("$ {}", cmd::display(&build));
    let output = build
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo build --release")?;
    if !output.status.success() {
        bail!("cargo build --release -p userhub failed: {}", output.status);
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == "userhub")
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .next_back()
        .context("cargo build reported no `userhub` executable")
}
