//! What is measured: the request mixes and how one figure is taken.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::api::Fixture;
use super::server::{RssWatch, Server};
use super::wrk::{self, Load, WrkResult};

/// Database behind the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn label(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// Request mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Health,
    Items,
    Login,
    ItemsDuringLogins,
    Create,
}

/// One measured configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    pub kind: Kind,
    pub connections: u32,
}

/// Logins running beside the items read in [`Kind::ItemsDuringLogins`].
pub const LOGIN_CLIENTS: u32 = 8;

/// In run order; create runs last so it cannot change what the reads see.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        kind: Kind::Health,
        connections: 32,
    },
    Scenario {
        kind: Kind::Items,
        connections: 32,
    },
    Scenario {
        kind: Kind::Items,
        connections: 128,
    },
    Scenario {
        kind: Kind::Login,
        connections: LOGIN_CLIENTS,
    },
    Scenario {
        kind: Kind::ItemsDuringLogins,
        connections: 32,
    },
    Scenario {
        kind: Kind::Create,
        connections: 32,
    },
];

impl Scenario {
    pub fn label(&self) -> &'static str {
        match self.kind {
            Kind::Health => "health check `GET /api/v1/utils/health-check/`",
            Kind::Items => "items read `GET /api/v1/items/?limit=20` (owner of 100 items)",
            Kind::Login => "login `POST /api/v1/login/access-token`",
            Kind::ItemsDuringLogins => "items read while 8 clients log in",
            Kind::Create => "create `POST /api/v1/items/`",
        }
    }

    pub fn slug(&self) -> String {
        let kind = match self.kind {
            Kind::Health => "health",
            Kind::Items => "items",
            Kind::Login => "login",
            Kind::ItemsDuringLogins => "items-during-logins",
            Kind::Create => "create",
        };
        format!("{kind}-c{}", self.connections)
    }
}

/// Durations and repetitions.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warmup: Duration,
    pub measure: Duration,
    pub rounds: usize,
    pub ready_runs: usize,
}

/// One round's figure for one scenario.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    pub wrk: WrkResult,
    pub peak_rss_mib: f64,
    /// CPU time of the server process per request of the measured load, µs.
    pub api_cpu_us: f64,
    /// CPU time of all PostgreSQL processes per request of the measured
    /// load, µs (0 on SQLite, whose engine runs inside the server).
    pub db_cpu_us: f64,
    /// The logins running beside [`Kind::ItemsDuringLogins`].
    pub side: Option<WrkResult>,
}

fn items(base: &str, fixture: &Fixture, connections: u32) -> Load {
    Load {
        name: format!("items-c{connections}"),
        url: format!("{base}/api/v1/items/?limit=20"),
        method: "GET",
        headers: vec![(
            "Authorization".into(),
            format!("Bearer {}", fixture.reader_token),
        )],
        body: None,
        connections,
    }
}

fn login(base: &str, fixture: &Fixture, connections: u32) -> Load {
    Load {
        name: format!("login-c{connections}"),
        url: format!("{base}/api/v1/login/access-token"),
        method: "POST",
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: Some(format!(
            "username={}&password={}",
            fixture.reader_email.replace('@', "%40"),
            fixture.reader_password
        )),
        connections,
    }
}

fn loads(scenario: Scenario, base: &str, fixture: &Fixture) -> Vec<Load> {
    let c = scenario.connections;
    match scenario.kind {
        Kind::Health => vec![Load {
            name: format!("health-c{c}"),
            url: format!("{base}/api/v1/utils/health-check/"),
            method: "GET",
            headers: Vec::new(),
            body: None,
            connections: c,
        }],
        Kind::Items => vec![items(base, fixture, c)],
        Kind::Login => vec![login(base, fixture, c)],
        Kind::ItemsDuringLogins => {
            vec![items(base, fixture, c), login(base, fixture, LOGIN_CLIENTS)]
        }
        Kind::Create => vec![Load {
            name: format!("create-c{c}"),
            url: format!("{base}/api/v1/items/"),
            method: "POST",
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (
                    "Authorization".into(),
                    format!("Bearer {}", fixture.writer_token),
                ),
            ],
            body: Some(
                r#"{"title":"bench item","description":"created by cargo xtask bench"}"#.into(),
            ),
            connections: c,
        }],
    }
}

/// Warm up, then measure `scenario` against `server` (all its loads at once).
pub fn measure(
    scenario: Scenario,
    server: &Server,
    fixture: &Fixture,
    plan: &Plan,
    dir: &Path,
) -> Result<Measurement> {
    measure_loads(
        &loads(scenario, &server.base_url(), fixture),
        server,
        plan,
        dir,
    )
}

/// Warm up, then measure `loads` against `server`, all at once; the first
/// load is the one measured, the others run beside it.
pub fn measure_loads(
    loads: &[Load],
    server: &Server,
    plan: &Plan,
    dir: &Path,
) -> Result<Measurement> {
    run_all(loads, plan.warmup, dir)?;
    let rss = RssWatch::start(server.pid());
    let (api_before, db_before) = (process_cpu_ticks(server.pid()), postgres_cpu_ticks());
    let results = run_all(loads, plan.measure, dir)?;
    let (api_after, db_after) = (process_cpu_ticks(server.pid()), postgres_cpu_ticks());
    let peak_rss_mib = rss.finish();
    // All loads' requests share the CPU; the measured one is the first.
    let requests = results.iter().map(|r| r.requests).sum::<u64>().max(1) as f64;
    let per_request = |ticks: u64| ticks as f64 * 1e6 / CLOCK_TICKS_PER_SECOND / requests;
    Ok(Measurement {
        wrk: results[0],
        peak_rss_mib,
        api_cpu_us: per_request(api_after.saturating_sub(api_before)),
        db_cpu_us: per_request(db_after.saturating_sub(db_before)),
        side: results.get(1).copied(),
    })
}

/// `USER_HZ`, the unit of the CPU times in `/proc/PID/stat` (100 on Linux).
pub const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU time of process `pid` so far, in clock ticks.
fn process_cpu_ticks(pid: u32) -> u64 {
    cpu_ticks(pid, false)
}

/// CPU time of every `postgres` process on the machine (the bench's
/// throwaway cluster is the only one), in clock ticks, including the time
/// of the backends that have exited (pgbench's, at the end of its run):
/// the postmaster reaps them, so their time is in its `cutime`/`cstime`.
pub fn postgres_cpu_ticks() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(|pid| cpu_ticks(pid, true))
        .sum()
}

/// `utime + stime` of process `pid` from one read of `/proc/PID/stat`, plus
/// `cutime + cstime` (its children that it has waited for) when
/// `reaped_children`; in clock ticks, 0 when the process is gone.
fn cpu_ticks(pid: u32, reaped_children: bool) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the parenthesised command name: state is field 3,
    // utime 14, stime 15, cutime 16 and cstime 17.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let own = field(14) + field(15);
    if reaped_children {
        own + field(16) + field(17)
    } else {
        own
    }
}

fn run_all(loads: &[Load], duration: Duration, dir: &Path) -> Result<Vec<WrkResult>> {
    if let [load] = loads {
        return Ok(vec![wrk::run(load, duration, dir)?]);
    }
    let running = loads
        .iter()
        .map(|load| wrk::spawn(load, duration, dir))
        .collect::<Result<Vec<_>>>()?;
    running.into_iter().map(wrk::Running::wait).collect()
}
