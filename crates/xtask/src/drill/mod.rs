//! `cargo xtask drill <name>`: resilience drills on real processes.
//!
//! Each drill starts its own processes on loopback (PostgreSQL, `userhub
//! api` replicas behind HAProxy), runs a k6 load (loadtest/drill.js),
//! injects one fault, stops by itself within its time bound, and judges the
//! run against its targets (docs/drills.md). A missed target fails the
//! command. Full runs write docs/drills/<name>.json, PNG plots and their
//! section of docs/drills.md; `--short` (CI) runs a shorter variant and
//! writes under target/drills/.

mod alerts;
mod backup;
mod crash;
mod db_outage;
mod failover;
mod overload;
pub mod report;
mod rolling;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cmd;
use crate::rig::{api, binary, haproxy, k6, now_ms, pg, stack, venv};
use alerts::Alerts;
use report::{DrillResult, Event, Run, Target};

type DrillFn = fn(&mut Ctx) -> Result<Outcome>;

/// Name, time bound of the full run, time bound of the short run, function.
const DRILLS: &[(&str, Duration, Duration, DrillFn)] = &[
    (
        "rolling-restart",
        Duration::from_secs(420),
        Duration::from_secs(120),
        rolling::run,
    ),
    (
        "db-outage",
        Duration::from_secs(420),
        Duration::from_secs(150),
        db_outage::run,
    ),
    (
        "failover",
        Duration::from_secs(240),
        Duration::from_secs(150),
        failover::run,
    ),
    (
        "crash",
        Duration::from_secs(300),
        Duration::from_secs(150),
        crash::run,
    ),
    (
        "backup-restore",
        Duration::from_secs(600),
        Duration::from_secs(300),
        backup::run,
    ),
    (
        "overload",
        Duration::from_secs(420),
        Duration::from_secs(150),
        overload::run,
    ),
];

/// What a drill found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub targets: Vec<Target>,
    pub runs: Vec<Run>,
    pub details: serde_json::Value,
}

/// What every drill gets.
#[derive(Debug)]
pub struct Ctx {
    pub tools: venv::Tools,
    pub binary: PathBuf,
    pub work: PathBuf,
    pub short: bool,
    deadline: Instant,
    events: Vec<Event>,
}

impl Ctx {
    /// Record a fault or a recovery step (drawn on the plot).
    pub fn event(&mut self, what: impl Into<String>) {
        let what = what.into();
        println!("  [{}] {what}", chrono::Utc::now().format("%H:%M:%S%.3f"));
        self.events.push(Event {
            at_ms: now_ms(),
            what,
        });
    }

    /// Fail if the drill has run past its time bound.
    pub fn check_deadline(&self) -> Result<()> {
        if Instant::now() > self.deadline {
            bail!("the drill ran past its time bound");
        }
        Ok(())
    }

    /// Seconds to wait, or fewer in the short variant.
    pub fn pick(&self, full: u64, short: u64) -> u64 {
        if self.short { short } else { full }
    }

    /// Start loadtest/drill.js against `base_url` as the given user.
    pub fn k6(
        &mut self,
        label: &str,
        base_url: &str,
        user: (&str, &str),
        writes: u32,
        reads: u32,
        seconds: u64,
    ) -> Result<k6::Running> {
        self.events.clear();
        let files = k6::Files::in_dir(&self.work, label, None);
        let env = vec![
            ("BASE_URL".to_owned(), base_url.to_owned()),
            ("DRILL_EMAIL".to_owned(), user.0.to_owned()),
            ("DRILL_PASSWORD".to_owned(), user.1.to_owned()),
            ("WRITES_PER_SECOND".to_owned(), writes.to_string()),
            ("READS_PER_SECOND".to_owned(), reads.to_string()),
            ("DURATION".to_owned(), format!("{seconds}s")),
            ("REQUEST_TIMEOUT".to_owned(), "10s".to_owned()),
        ];
        let running = k6::spawn(
            &self.tools,
            "drill.js",
            &env,
            files,
            Duration::from_secs(seconds + 60),
        )?;
        Ok(running)
    }

    /// Wait for k6; the run's samples, acknowledged writes and plot entry.
    pub fn finish(
        &mut self,
        label: &str,
        running: k6::Running,
    ) -> Result<(Run, Vec<k6::Sample>, Vec<k6::Ack>)> {
        let (code, files) = running.wait()?;
        if code != 0 {
            bail!("k6 exited with {code}; log {}", files.log.display());
        }
        let samples = k6::samples(&files.csv)?;
        let acks = k6::acks(&files.console)?;
        let run = Run {
            label: label.to_owned(),
            totals: k6::totals(&samples),
            events: std::mem::take(&mut self.events),
            csv: files.csv.clone(),
            plot: String::new(),
        };
        println!(
            "  k6 {label}: {} requests, {} failed, {} acknowledged writes",
            run.totals.requests,
            run.totals.failed,
            acks.len()
        );
        Ok((run, samples, acks))
    }
}

pub const DRILL_EMAIL: &str = "drill-writer@example.com";
pub const DRILL_PASSWORD: &str = "drill-password-1";

/// What became of the writes k6 saw acknowledged, read back through the
/// load balancer at `http` as the drill's user.
#[derive(Debug)]
pub struct ReadBack<'a> {
    /// Rows the user holds now.
    pub stored: usize,
    /// Acknowledged writes that are not among them.
    pub lost: Vec<&'a str>,
}

pub fn read_back(http: std::net::SocketAddr, acks: &[k6::Ack]) -> Result<ReadBack<'_>> {
    let token = crate::rig::api::login(http, DRILL_EMAIL, DRILL_PASSWORD)?;
    let stored = crate::rig::api::item_ids(http, &token)?;
    let lost = acks
        .iter()
        .filter(|a| !stored.contains(&a.ack))
        .map(|a| a.ack.as_str())
        .collect();
    Ok(ReadBack {
        stored: stored.len(),
        lost,
    })
}

/// `cargo xtask drill NAME [--short] [--release|--debug|--binary PATH]`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The drill
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(DRILLS.iter().map(|d| d.0)))]
    pub name: String,
    /// The short variant (CI's): shorter load and waits, tighter time bound
    #[arg(long)]
    pub short: bool,
    #[command(flatten)]
    pub binary: binary::SourceArgs,
}

pub fn run(args: &Args) -> Result<()> {
    let (source, short) = (args.binary.source(), args.short);
    let Some(&(name, full_bound, short_bound, drill)) = DRILLS.iter().find(|d| d.0 == args.name)
    else {
        let names: Vec<&str> = DRILLS.iter().map(|d| d.0).collect();
        bail!(
            "unknown drill `{}`; one of: {}",
            args.name,
            names.join(", ")
        );
    };
    let bound = if short { short_bound } else { full_bound };
    let commit = report::commit();
    let load_average = report::load_average();
    let tools = venv::ensure()?;
    haproxy::ensure_installed()?;
    let work = tempfile::Builder::new()
        .prefix(&format!("userhub-drill-{name}-"))
        .tempdir()?;
    let binary = source.obtain(work.path())?;
    // The bound is the drill's own: the clock starts once the tools and the
    // binary are ready (a cold release build alone takes minutes).
    let started = Instant::now();
    println!(
        "==> drill {name}{} (bound {} s)",
        if short { " --short" } else { "" },
        bound.as_secs()
    );
    let mut ctx = Ctx {
        tools: tools.clone(),
        binary,
        work: work.path().to_path_buf(),
        short,
        deadline: started + bound,
        events: Vec::new(),
    };
    let outcome = cmd::timed(&format!("drill {name}"), || drill(&mut ctx))?;
    let wall = started.elapsed();
    let mut result = DrillResult {
        drill: name.to_owned(),
        variant: if short { "short" } else { "full" },
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit,
        binary: source.label(),
        wall_seconds: wall.as_secs_f64(),
        load_average,
        passed: outcome.targets.iter().all(|t| t.passed),
        targets: outcome.targets,
        runs: outcome.runs,
        details: outcome.details,
    };
    let json = report::write(&mut result, &tools, short)?;
    println!("drill {name}: wrote {}", report::relative(&json));
    if wall > bound + Duration::from_secs(60) {
        bail!(
            "drill {name} took {:.0} s, past its bound of {} s",
            wall.as_secs_f64(),
            bound.as_secs()
        );
    }
    let missed: Vec<&str> = result
        .targets
        .iter()
        .filter(|t| !t.passed)
        .map(|t| t.name.as_str())
        .collect();
    if !missed.is_empty() {
        bail!("drill {name}: target(s) missed: {}", missed.join(", "));
    }
    println!("drill {name}: every target met");
    Ok(())
}

/// API settings every drill uses: on SIGTERM, fail `/readyz` and keep
/// serving for 3 s (HAProxy takes the replica out after two failed checks
/// 500 ms apart), then drain.
pub fn drain_env() -> Vec<(String, String)> {
    vec![("USERHUB_SHUTDOWN_DELAY_SECONDS".to_owned(), "3".to_owned())]
}

/// The set-up the rolling-restart, db-outage and overload drills share: a
/// PostgreSQL cluster `pg` holding the database `userhub`, two api replicas
/// behind HAProxy with [`drain_env`] (then whatever `adjust` changes), the
/// drill's user signed up, and the alert stack unless the run is short.
fn two_replicas(
    ctx: &Ctx,
    adjust: impl FnOnce(&mut stack::Options),
) -> Result<(pg::Cluster, stack::Stack, Option<Alerts>)> {
    let mut cluster = pg::Cluster::init(&ctx.work, "pg", &[])?;
    cluster.start()?;
    cluster.psql("postgres", "CREATE DATABASE userhub")?;
    let mut options = stack::Options::new(&ctx.binary.clone(), cluster.url("userhub"), 2, false);
    options.api_env = drain_env();
    adjust(&mut options);
    let stack = stack::Stack::start(&options, &ctx.work)?;
    api::signup_login(stack.haproxy.http, DRILL_EMAIL, DRILL_PASSWORD)?;
    let alerts = Alerts::unless_short(ctx, &stack)?;
    Ok((cluster, stack, alerts))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_yaml::Value;

    use super::DRILLS;
    use crate::cmd;

    fn alerts() -> BTreeSet<String> {
        let path = cmd::workspace_root().join("observability/prometheus/rules/userhub.yml");
        let rules: Value =
            serde_yaml::from_str(&std::fs::read_to_string(path).expect("rules file"))
                .expect("rules YAML");
        rules["groups"]
            .as_sequence()
            .expect("groups")
            .iter()
            .flat_map(|g| g["rules"].as_sequence().cloned().unwrap_or_default())
            .filter_map(|r| r["alert"].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn chaos_experiments_name_their_drill_and_alert() {
        let dir = cmd::workspace_root().join("deploy/chaos");
        let alerts = alerts();
        let drills: BTreeSet<&str> = DRILLS.iter().map(|d| d.0).collect();
        let mut seen = 0;
        let mut kinds = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).expect("deploy/chaos") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if !name.ends_with(".yaml") || name == "kustomization.yaml" {
                continue;
            }
            seen += 1;
            let doc: Value =
                serde_yaml::from_str(&std::fs::read_to_string(&path).expect("read")).expect(&name);
            assert_eq!(
                doc["apiVersion"].as_str(),
                Some("chaos-mesh.org/v1alpha1"),
                "{name}"
            );
            let kind = doc["kind"].as_str().expect("kind").to_owned();
            assert!(
                ["PodChaos", "NetworkChaos", "StressChaos", "Schedule"].contains(&kind.as_str()),
                "{name}: unexpected kind {kind}"
            );
            assert_eq!(
                doc["metadata"]["namespace"].as_str(),
                Some("userhub-prod"),
                "{name}"
            );
            let annotations = &doc["metadata"]["annotations"];
            let drill = annotations["userhub.io/mirrors-drill"]
                .as_str()
                .expect("mirrors-drill annotation");
            assert!(
                drills.contains(drill),
                "{name}: names unknown drill {drill}"
            );
            let expected = annotations["userhub.io/expected-alert"]
                .as_str()
                .expect("expected-alert annotation");
            for word in expected.split(|c: char| !c.is_ascii_alphanumeric()) {
                if word.starts_with("Userhub") {
                    assert!(
                        alerts.contains(word),
                        "{name}: alert {word} is not in the rules"
                    );
                }
            }
            // The experiment itself (inside a Schedule, under its type's key).
            let spec = if kind == "Schedule" {
                kinds.insert(doc["spec"]["type"].as_str().expect("type").to_owned());
                doc["spec"]["podChaos"].clone()
            } else {
                kinds.insert(kind.clone());
                doc["spec"].clone()
            };
            let labels = &spec["selector"]["labelSelectors"];
            assert!(
                labels["app.kubernetes.io/name"].as_str() == Some("userhub")
                    || labels["cnpg.io/cluster"].as_str() == Some("userhub-db"),
                "{name}: selector does not target Userhub's pods"
            );
            if kind == "NetworkChaos" {
                assert_eq!(
                    spec["target"]["selector"]["labelSelectors"]["cnpg.io/cluster"].as_str(),
                    Some("userhub-db"),
                    "{name}: network faults are between api and the database"
                );
            }
        }
        assert!(
            seen >= 5,
            "expected the chaos experiments in {}",
            dir.display()
        );
        for kind in ["PodChaos", "NetworkChaos", "StressChaos"] {
            assert!(kinds.contains(kind), "no {kind} experiment");
        }
    }
}
