//! The live-stack test of `cargo xtask observability`: real `userhub api`
//! (PostgreSQL behind a fault proxy, a pool of one connection), `web` and
//! `serve` processes under a realistic traffic mix, scraped by Debian's
//! Prometheus and routed by Debian's Alertmanager with the repository's
//! configuration; Slack webhooks go to a local receiver, email to an SMTP
//! sink. It asserts from Prometheus' HTTP API that every dashboard panel has
//! data for every job it claims (and none for the jobs it does not), that
//! every metric the rules and panels name is exposed and every exposed family
//! is used or listed as unused, and that injected faults (a target down, a
//! slow database, an exhausted pool and the 5xx burst they cause) fire the
//! matching alerts, which reach the receiver through the intended route
//! while inhibited alerts do not.
//!
//! Test-only change to the configuration: rule evaluation every
//! [`TEST_EVALUATION_INTERVAL`] instead of the files' 15 s / 30 s. Scrape
//! intervals, `for` durations, thresholds, routes and inhibitions are the
//! repository's own. The slow-burn windows (1 d, 3 d) cannot be lived
//! through in minutes; promtool unit tests cover them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;
use userhub_testkit::{SmtpSink, TestPostgres, create_database};

use super::{grafana, promql};
use crate::delivery::{random_hex, repo_root, target_dir};
use crate::livestack::proxy::FaultProxy;
use crate::livestack::userhub::{self, Userhub};
use crate::livestack::{Monitoring, MonitoringOptions, SlackMessage, is_firing_about};

/// Rule evaluation interval for this test only (the files say 15 s / 30 s).
pub const TEST_EVALUATION_INTERVAL: &str = "5s";
/// Healthy traffic before the dashboards are checked and faults start: at
/// a 15 s scrape, four scrapes, so a 1-minute rate window holds two samples
/// at the last aligned step.
const BASELINE: Duration = Duration::from_secs(60);
/// Latency the proxy adds to every database response during the fault.
const DB_DELAY: Duration = Duration::from_millis(300);
/// After the faults start, every expected notification must arrive within this.
const NOTIFY_DEADLINE: Duration = Duration::from_secs(240);
/// Concurrent clients exhausting the one-connection pool during the fault.
const PRESSURE_WORKERS: usize = 6;
/// Upper bound of requests any one traffic loop sends.
const MAX_REQUESTS_PER_LOOP: u64 = 20_000;
const JOBS: [&str; 2] = ["userhub-api", "userhub-web"];
const UNUSED_METRICS: &str = "observability/prometheus/unused-metrics.txt";

pub fn run() -> Result<()> {
    let binary = userhub::build_binary()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        // Cancelling the scenario drops its processes: nothing outlives us.
        tokio::select! {
            result = scenario(&binary) => result,
            _ = tokio::signal::ctrl_c() => bail!("interrupted (Ctrl-C)"),
            _ = terminate.recv() => bail!("terminated (SIGTERM)"),
        }
    })
}

async fn scenario(binary: &Path) -> Result<()> {
    let started = Instant::now();
    let root = repo_root();
    let work = target_dir().join("xtask-observability-live");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let dashboards = load_dashboards(&root)?;
    let scrape = scrape_interval(&root)?;
    let min_interval = datasource_time_interval(&root)?;
    println!(
        "live: rule evaluation every {TEST_EVALUATION_INTERVAL} for this test only; \
         scrape interval {scrape} s and everything else as configured"
    );

    // The API's database: PostgreSQL behind a fault proxy.
    let (_cluster, admin_url) = postgres()?;
    let db_url = create_database(&admin_url).await?;
    let pg_addr = authority(&db_url)?;
    let db_proxy = FaultProxy::start(pg_addr).await?;
    let api_db_url = db_url.replacen(&pg_addr.to_string(), &db_proxy.addr().to_string(), 1);
    let app_smtp = SmtpSink::start().await?;

    let secret = random_hex(32)?;
    let admin_password = random_hex(12)?;
    let admin_email = "admin@example.com".to_owned();
    let common = vec![
        ("ENVIRONMENT", "production".to_owned()),
        ("SECRET_KEY", secret.clone()),
        ("FIRST_SUPERUSER", admin_email.clone()),
        ("FIRST_SUPERUSER_PASSWORD", admin_password.clone()),
        ("USERHUB_HASH_CONCURRENCY", "1".to_owned()),
    ];
    let mut api_env = common.clone();
    api_env.extend([
        ("DATABASE_URL", api_db_url),
        ("USERHUB_DB_POOL_SIZE", "1".to_owned()),
        ("USERHUB_DB_ACQUIRE_TIMEOUT_SECONDS", "1".to_owned()),
        ("USERHUB_LOGIN_MAX_FAILURES", "3".to_owned()),
        ("SMTP_HOST", "127.0.0.1".to_owned()),
        ("SMTP_PORT", app_smtp.port().to_string()),
        ("SMTP_TLS", "false".to_owned()),
        ("SMTP_SSL", "false".to_owned()),
        ("EMAILS_FROM_EMAIL", "userhub@example.com".to_owned()),
        ("OTEL_SERVICE_NAME", "userhub-api".to_owned()),
    ]);
    let api = Userhub::start(binary, "api", "api", &api_env, &work).await?;
    let mut serve_env = common.clone();
    serve_env.push(("USERHUB_COOKIE_KEY", random_hex(64)?));
    let mut serve = Userhub::start(binary, "serve", "serve", &serve_env, &work).await?;
    let web_env = vec![
        ("ENVIRONMENT", "production".to_owned()),
        ("SECRET_KEY", secret.clone()),
        ("USERHUB_API_URL", api.base_url()),
        ("USERHUB_COOKIE_KEY", random_hex(64)?),
        ("OTEL_SERVICE_NAME", "userhub-web".to_owned()),
    ];
    let web = Userhub::start(binary, "web", "web", &web_env, &work).await?;

    let mon = Monitoring::start(MonitoringOptions {
        // `serve` is a second instance of the API job (it exposes the API's
        // families): the target that goes down.
        targets: BTreeMap::from([
            ("api:9464".to_owned(), vec![api.admin, serve.admin]),
            ("web:9464".to_owned(), vec![web.admin]),
        ]),
        evaluation_interval: Some(TEST_EVALUATION_INTERVAL.to_owned()),
        work_dir: work.join("monitoring"),
    })
    .await?;
    let monitoring_started = Instant::now();
    mon.prometheus
        .wait_until_up(
            &["userhub-api", "userhub-web", "prometheus", "alertmanager"],
            Duration::from_secs(60),
        )
        .await?;

    // Traffic: the steady mix starts at once; the one-off flows (failed
    // logins, a lockout, recovery mail) run meanwhile.
    let http = Http::new()?;
    let token = http
        .api_login(api.addr, &admin_email, &admin_password)
        .await?;
    let web_cookie = http
        .web_login(web.addr, &admin_email, &admin_password)
        .await?;
    let traffic_started = Instant::now();
    let (stop_tx, stop) = watch::channel(false);
    let stats = Stats::default();
    let mut traffic = JoinSet::new();
    for worker in 0..2 {
        traffic.spawn(api_mix(
            http.clone(),
            api.addr,
            token.clone(),
            worker,
            stop.clone(),
            stats.clone(),
        ));
    }
    traffic.spawn(web_anonymous(
        http.clone(),
        web.addr,
        stop.clone(),
        stats.clone(),
    ));
    traffic.spawn(web_session(
        http.clone(),
        web.addr,
        web_cookie,
        stop.clone(),
        stats.clone(),
    ));
    let (serve_stop_tx, serve_stop) = watch::channel(false);
    traffic.spawn(serve_mix(
        http.clone(),
        serve.addr,
        serve_stop,
        stats.clone(),
    ));
    one_off_flows(&http, api.addr, &token, &app_smtp).await?;
    println!(
        "live: +{:.0} s one-off flows done",
        started.elapsed().as_secs_f64()
    );

    tokio::time::sleep(BASELINE.saturating_sub(traffic_started.elapsed())).await;
    println!(
        "live: +{:.0} s baseline done ({:.0} s of monitoring); requests: {}",
        started.elapsed().as_secs_f64(),
        monitoring_started.elapsed().as_secs_f64(),
        stats.summary()
    );
    let baseline_messages = mon.webhook.messages();
    ensure!(
        baseline_messages.is_empty(),
        "notifications during healthy traffic: {:?}",
        baseline_messages
            .iter()
            .map(SlackMessage::title)
            .collect::<Vec<_>>()
    );
    let firing: Vec<String> = mon
        .prometheus
        .alerts()
        .await?
        .into_iter()
        .filter(|a| a.state == "firing")
        .map(|a| format!("{:?}", a.labels))
        .collect();
    ensure!(
        firing.is_empty(),
        "alerts firing during healthy traffic: {firing:?}"
    );

    // Dashboards and metric coverage, on healthy traffic (a 5xx would hide
    // an error-ratio panel that is empty without one).
    let mut problems = check_dashboards(&mon, &dashboards, min_interval, scrape).await?;
    problems.extend(check_metric_coverage(&mon, &root, &dashboards).await?);
    ensure!(
        problems.is_empty(),
        "{} observability problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    println!(
        "live: +{:.0} s every panel has data for the jobs it covers; every named metric is exposed",
        started.elapsed().as_secs_f64()
    );

    // Faults: serve killed (target down), the API's database slow, and its
    // one-connection pool exhausted (503s: the 5xx burst, also seen by web).
    let fault_start = SystemTime::now();
    let fault_clock = Instant::now();
    let _ = serve_stop_tx.send(true);
    let serve_instance = serve.admin.to_string();
    serve.process.kill();
    db_proxy.set_delay(DB_DELAY);
    for _ in 0..PRESSURE_WORKERS {
        traffic.spawn(api_pressure(
            http.clone(),
            api.addr,
            token.clone(),
            stop.clone(),
            stats.clone(),
        ));
    }
    println!(
        "live: faults injected at +{:.0} s: serve killed, database +{} ms per response, pool of 1 under {PRESSURE_WORKERS} clients",
        started.elapsed().as_secs_f64(),
        DB_DELAY.as_millis()
    );

    let expected = [
        (
            "UserhubTargetDown",
            "oncall",
            vec![
                ("job", "userhub-api"),
                ("instance", serve_instance.as_str()),
            ],
        ),
        (
            "UserhubDbAcquireTimeouts",
            "oncall",
            vec![("job", "userhub-api")],
        ),
        (
            "UserhubAvailabilityBudgetBurnFast",
            "oncall",
            vec![("job", "userhub-api")],
        ),
        (
            "UserhubLatencyBudgetBurnFast",
            "oncall",
            vec![("job", "userhub-api")],
        ),
        (
            "UserhubAvailabilityBudgetBurnFast",
            "oncall",
            vec![("job", "userhub-web")],
        ),
        (
            "UserhubLatencyBudgetBurnSlow",
            "ticket",
            vec![("job", "userhub-web")],
        ),
    ];
    let inhibited = [
        ("UserhubAvailabilityBudgetBurnSlow", "userhub-api"),
        ("UserhubLatencyBudgetBurnSlow", "userhub-api"),
        ("UserhubAvailabilityBudgetBurnSlow", "userhub-web"),
    ];
    let outcome = wait_for_alerts(&mon, &expected, &inhibited, fault_clock).await;
    let _ = stop_tx.send(true);
    traffic.abort_all();
    println!("live: requests by target and status: {}", stats.summary());
    let (received, suppressed) = outcome?;
    check_messages(&mon, &root, fault_start, &suppressed).await?;
    check_emails(&mon).await?;
    let pending = mon.prometheus.alerts().await?.into_iter().any(|a| {
        a.labels
            .get("alertname")
            .is_some_and(|n| n == "UserhubDbPoolSaturated")
    });
    ensure!(
        pending,
        "UserhubDbPoolSaturated is not even pending with a pool of 1 under pressure"
    );
    for line in received {
        println!("live: {line}");
    }
    println!(
        "live: OK in {:.0} s (alerts delivered {:.0} s after the faults)",
        started.elapsed().as_secs_f64(),
        fault_clock.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A throwaway cluster, or the server of `USERHUB_TEST_POSTGRES_URL` when it is on loopback.
fn postgres() -> Result<(Option<TestPostgres>, String)> {
    if let Ok(url) = std::env::var(userhub_testkit::postgres::ENV_URL)
        && !url.trim().is_empty()
        && authority(&url).is_ok_and(|a| a.ip().is_loopback())
    {
        return Ok((None, url));
    }
    let cluster = TestPostgres::start().context("starting a throwaway PostgreSQL for the API")?;
    let url = cluster.admin_url();
    Ok((Some(cluster), url))
}

/// `host:port` of a `postgres://` URL, resolved (`localhost` → 127.0.0.1).
fn authority(url: &str) -> Result<SocketAddr> {
    let rest = url.split_once("://").context("URL without scheme")?.1;
    let host_port = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = host_port.rsplit('@').next().unwrap_or_default();
    let host_port = host_port.replace("localhost", "127.0.0.1");
    host_port
        .parse()
        .with_context(|| format!("{host_port:?} in the database URL is not a loopback host:port"))
}

fn load_dashboards(root: &Path) -> Result<Vec<(PathBuf, Value)>> {
    let dir = root.join("observability/grafana/dashboards");
    let mut out = Vec::new();
    for path in super::files(&dir, "json")? {
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        out.push((path, value));
    }
    Ok(out)
}

fn scrape_interval(root: &Path) -> Result<f64> {
    let text = std::fs::read_to_string(root.join("observability/prometheus/prometheus.yml"))?;
    let doc: serde_yaml::Value = serde_yaml::from_str(&text)?;
    grafana::parse_duration(
        doc["global"]["scrape_interval"]
            .as_str()
            .context("no global.scrape_interval")?,
    )
}

/// The Prometheus data source's `timeInterval` (Grafana's minimum `$__interval`).
pub fn datasource_time_interval(root: &Path) -> Result<f64> {
    let path = root.join("observability/grafana/provisioning/datasources/datasources.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path)?)?;
    let prom = doc["datasources"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|d| d["type"] == "prometheus")
        .context("no Prometheus data source")?;
    grafana::parse_duration(
        prom["jsonData"]["timeInterval"]
            .as_str()
            .context("no jsonData.timeInterval")?,
    )
}

async fn check_dashboards(
    mon: &Monitoring,
    dashboards: &[(PathBuf, Value)],
    min_interval: f64,
    scrape: f64,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    // The `job` variable: label_values(userhub_build_info, job).
    let jobs: BTreeSet<String> = mon
        .prometheus
        .query("group by (job) (userhub_build_info)", None)
        .await?
        .into_iter()
        .filter_map(|s| s.labels.get("job").cloned())
        .collect();
    let wanted: BTreeSet<String> = JOBS.iter().map(|j| (*j).to_owned()).collect();
    if jobs != wanted {
        problems.push(format!(
            "the job variable offers {jobs:?}, expected {wanted:?}"
        ));
    }
    let mut checked = 0;
    for (path, dashboard) in dashboards {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let range = grafana::default_range(dashboard)?;
        let end = now_seconds();
        for query in grafana::panel_queries(dashboard)? {
            for job in JOBS {
                let interval = grafana::interval(range, query.width_columns, min_interval);
                let rate = grafana::rate_interval(interval, scrape);
                let expr =
                    grafana::interpolate(&query.expr, &[("job", job.to_owned())], interval, rate);
                let has_data = if query.instant {
                    mon.prometheus
                        .query(&expr, Some(end))
                        .await?
                        .iter()
                        .any(|s| !s.value.is_nan())
                } else {
                    // Grafana aligns the range to the step.
                    let start = ((end - range) / interval).floor() * interval;
                    let stop = (end / interval).floor() * interval;
                    mon.prometheus
                        .query_range(&expr, start, stop, interval)
                        .await?
                        .iter()
                        .any(|s| s.finite_points() > 0)
                };
                checked += 1;
                let claimed = query.covers.iter().any(|c| c == job);
                if claimed && !has_data {
                    problems.push(format!(
                        "{name}: panel {:?} query {} has no data for {job} (it says it covers it): {expr}",
                        query.panel, query.ref_id
                    ));
                }
                if !claimed && has_data {
                    problems.push(format!(
                        "{name}: panel {:?} query {} has data for {job}, which its description does not list",
                        query.panel, query.ref_id
                    ));
                }
            }
        }
    }
    println!("live: {checked} panel queries × job checked at the dashboards' default range");
    Ok(problems)
}

/// Families: histogram series (`_bucket`, `_count`, `_sum`) count as their family.
fn family(name: &str, exposed: &BTreeSet<String>) -> String {
    for suffix in ["_bucket", "_count", "_sum"] {
        if let Some(base) = name.strip_suffix(suffix)
            && exposed.contains(&format!("{base}_bucket"))
        {
            return base.to_owned();
        }
    }
    name.to_owned()
}

async fn check_metric_coverage(
    mon: &Monitoring,
    root: &Path,
    dashboards: &[(PathBuf, Value)],
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let exposed: BTreeSet<String> = mon
        .prometheus
        .metric_names(r#"{job=~"userhub.*"}"#)
        .await?
        .into_iter()
        // Prometheus' own series: scrape metadata, rule results, alerts.
        .filter(|n| {
            n != "up" && !n.starts_with("scrape_") && !n.starts_with("ALERTS") && !n.contains(':')
        })
        .collect();
    let mut used = BTreeMap::<String, String>::new();
    let mut recorded = BTreeSet::new();
    for path in super::files(&root.join("observability/prometheus/rules"), "yml")? {
        let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&path)?)?;
        for group in doc["groups"].as_sequence().into_iter().flatten() {
            for rule in group["rules"].as_sequence().into_iter().flatten() {
                let what = rule["record"]
                    .as_str()
                    .or(rule["alert"].as_str())
                    .unwrap_or("?")
                    .to_owned();
                if let Some(record) = rule["record"].as_str() {
                    recorded.insert(record.to_owned());
                }
                for name in promql::metric_names(rule["expr"].as_str().unwrap_or_default()) {
                    used.entry(name).or_insert_with(|| format!("rule {what}"));
                }
            }
        }
    }
    for (path, dashboard) in dashboards {
        for query in grafana::panel_queries(dashboard)? {
            let expr = grafana::interpolate(&query.expr, &[("job", ".*".to_owned())], 60.0, 60.0);
            for name in promql::metric_names(&expr) {
                used.entry(name).or_insert_with(|| {
                    format!(
                        "{} panel {:?}",
                        path.file_name().unwrap_or_default().to_string_lossy(),
                        query.panel
                    )
                });
            }
        }
    }
    for (name, user) in &used {
        let known = if name.contains(':') {
            recorded.contains(name)
        } else {
            name == "up" || exposed.contains(name)
        };
        if !known {
            problems.push(format!(
                "{user} names {name}, which no Userhub target exposes"
            ));
        }
    }
    let unused = unused_metrics(root)?;
    let used_families: BTreeSet<String> = used.keys().map(|n| family(n, &exposed)).collect();
    let exposed_families: BTreeSet<String> = exposed.iter().map(|n| family(n, &exposed)).collect();
    for f in &exposed_families {
        if !used_families.contains(f) && !unused.contains(f) {
            problems.push(format!(
                "{f} is exposed but no rule or panel uses it; use it or list it in {UNUSED_METRICS}"
            ));
        }
    }
    for f in &unused {
        if !exposed_families.contains(f) {
            problems.push(format!(
                "{UNUSED_METRICS} lists {f}, which no Userhub target exposes"
            ));
        }
        if used_families.contains(f) {
            problems.push(format!(
                "{UNUSED_METRICS} lists {f}, which a rule or panel uses"
            ));
        }
    }
    println!(
        "live: {} exposed families, {} used by rules and panels, {} listed as unused",
        exposed_families.len(),
        used_families.len(),
        unused.len()
    );
    Ok(problems)
}

fn unused_metrics(root: &Path) -> Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(root.join(UNUSED_METRICS))
        .with_context(|| format!("reading {UNUSED_METRICS}"))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        .collect())
}

type Expected<'a> = [(&'a str, &'a str, Vec<(&'a str, &'a str)>)];

/// Waits until every expected alert reached its receiver and every inhibited
/// one is held back by Alertmanager; returns what arrived and the
/// suppressed alerts (name, job, the time their inhibitor started).
async fn wait_for_alerts(
    mon: &Monitoring,
    expected: &Expected<'_>,
    inhibited: &[(&str, &str)],
    fault_clock: Instant,
) -> Result<(Vec<String>, Vec<(String, String)>)> {
    let mut received = BTreeMap::new();
    loop {
        for (alertname, receiver, labels) in expected {
            let key = format!("{alertname} {labels:?}");
            if received.contains_key(&key) {
                continue;
            }
            let found = mon.slack_messages_of(receiver).into_iter().find(|m| {
                is_firing_about(m, alertname)
                    && labels.iter().all(|(k, v)| match *k {
                        "job" => m.title().contains(&format!("({v})")),
                        _ => m.visible_text().contains(v),
                    })
            });
            if found.is_some() {
                println!(
                    "live: {alertname} {labels:?} reached {receiver} {:.0} s after the faults",
                    fault_clock.elapsed().as_secs_f64()
                );
                received.insert(key, format!("{alertname} {labels:?} → {receiver}"));
            }
        }
        let am = mon.alertmanager.alerts().await?;
        let suppressed: Vec<(String, String)> = inhibited
            .iter()
            .filter(|(name, job)| {
                am.iter().any(|a| {
                    a.name() == *name
                        && a.label("job") == *job
                        && a.state == "suppressed"
                        && !a.inhibited_by.is_empty()
                })
            })
            .map(|(n, j)| ((*n).to_owned(), (*j).to_owned()))
            .collect();
        if received.len() == expected.len() && suppressed.len() == inhibited.len() {
            return Ok((received.into_values().collect(), suppressed));
        }
        if fault_clock.elapsed() > NOTIFY_DEADLINE {
            let missing: Vec<String> = expected
                .iter()
                .map(|(a, r, l)| (format!("{a} {l:?}"), r))
                .filter(|(k, _)| !received.contains_key(k))
                .map(|(k, r)| format!("{k} via {r}"))
                .collect();
            let not_suppressed: Vec<String> = inhibited
                .iter()
                .filter(|(n, j)| !suppressed.iter().any(|(sn, sj)| sn == n && sj == j))
                .map(|(n, j)| format!("{n} {j}"))
                .collect();
            let prom: Vec<String> = mon
                .prometheus
                .alerts()
                .await
                .unwrap_or_default()
                .iter()
                .map(|a| format!("{} {:?}", a.state, a.labels))
                .collect();
            let am: Vec<String> = am
                .iter()
                .map(|a| {
                    format!(
                        "{} {:?} → {:?} inhibited by {:?}",
                        a.state, a.labels, a.receivers, a.inhibited_by
                    )
                })
                .collect();
            let slack: Vec<String> = mon
                .webhook
                .messages()
                .iter()
                .map(|m| format!("{} {}", m.path, m.title()))
                .collect();
            bail!(
                "within {NOTIFY_DEADLINE:?} of the faults: not delivered {missing:?}; not inhibited {not_suppressed:?}\n\
                 prometheus alerts: {prom:#?}\nalertmanager: {am:#?}\nslack messages: {slack:#?}"
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Every Slack message went through the route of its severity, carries the
/// summary, runbook and dashboard links; no inhibited alert was sent after
/// its inhibitor fired.
async fn check_messages(
    mon: &Monitoring,
    root: &Path,
    fault_start: SystemTime,
    suppressed: &[(String, String)],
) -> Result<()> {
    let annotations = alert_annotations(root)?;
    let mut problems = Vec::new();
    let route_of = |severity: &str| match severity {
        "critical" => "oncall",
        "warning" => "ticket",
        _ => "team-email",
    };
    let mut receiver_of_path = BTreeMap::new();
    for (receiver, path) in &mon.slack_paths {
        receiver_of_path.insert(path.clone(), receiver.clone());
    }
    for message in mon.webhook.messages() {
        let title = message.title().to_owned();
        let receiver = receiver_of_path
            .get(&message.path)
            .cloned()
            .unwrap_or_default();
        let Some(name) = title.split_whitespace().nth(1) else {
            problems.push(format!(
                "untitled message on {}: {}",
                message.path, message.payload
            ));
            continue;
        };
        let Some((summary, runbook, severity)) = annotations.get(name) else {
            problems.push(format!("message about unknown alert {name}"));
            continue;
        };
        if route_of(severity) != receiver {
            problems.push(format!(
                "{name} ({severity}) went through {receiver}, expected {}",
                route_of(severity)
            ));
        }
        let text = message.visible_text();
        if title.starts_with("[FIRING") {
            for (what, needle) in [
                ("summary", summary.as_str()),
                ("runbook link", runbook.as_str()),
                (
                    "dashboard link",
                    "/d/userhub-service/userhub?orgId=1&var-job=userhub-",
                ),
            ] {
                if !text.contains(needle) {
                    problems.push(format!(
                        "{name} via {receiver} lacks its {what} ({needle}):\n{text}"
                    ));
                }
            }
        }
        if message.received < fault_start {
            problems.push(format!("{name} was notified before any fault"));
        }
    }
    // Inhibited alerts: Alertmanager must not have sent them once the
    // critical alert of the same job and SLO was firing.
    let am_alerts = mon.alertmanager.alerts().await?;
    for (name, job) in suppressed {
        let slo = if name.contains("Availability") {
            "availability"
        } else {
            "latency"
        };
        let inhibitor_start = am_alerts
            .iter()
            .filter(|a| {
                a.name().ends_with("Fast") && a.label("job") == job && a.label("slo") == slo
            })
            .filter_map(|a| parse_time(&a.starts_at))
            .min();
        for message in mon.webhook.messages() {
            if is_firing_about(&message, name)
                && message.title().contains(&format!("({job})"))
                && inhibitor_start
                    .is_some_and(|start| message.received > start + Duration::from_secs(40))
            {
                problems.push(format!(
                    "{name} ({job}) was sent although its fast burn was firing"
                ));
            }
        }
    }
    ensure!(
        problems.is_empty(),
        "notification problems:\n  {}",
        problems.join("\n  ")
    );
    println!(
        "live: every Slack message took its severity's route and carries summary, runbook and dashboard links"
    );
    Ok(())
}

fn parse_time(text: &str) -> Option<SystemTime> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(SystemTime::from(parsed.with_timezone(&chrono::Utc)))
}

/// alertname → (summary, runbook_url, severity) from the rule files.
fn alert_annotations(root: &Path) -> Result<BTreeMap<String, (String, String, String)>> {
    let mut out = BTreeMap::new();
    for path in super::files(&root.join("observability/prometheus/rules"), "yml")? {
        let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&path)?)?;
        for group in doc["groups"].as_sequence().into_iter().flatten() {
            for rule in group["rules"].as_sequence().into_iter().flatten() {
                if let Some(alert) = rule["alert"].as_str() {
                    let s = |v: &serde_yaml::Value| v.as_str().unwrap_or_default().to_owned();
                    out.insert(
                        alert.to_owned(),
                        (
                            s(&rule["annotations"]["summary"]),
                            s(&rule["annotations"]["runbook_url"]),
                            s(&rule["labels"]["severity"]),
                        ),
                    );
                }
            }
        }
    }
    Ok(out)
}

/// Alertmanager's email copies (the fallback) reached the SMTP sink.
/// Alertmanager notifies Slack and email concurrently, so the email of the
/// alert that ended the wait may still be on its way: poll for a while.
async fn check_emails(mon: &Monitoring) -> Result<()> {
    const EXPECTED: [(&str, &str); 2] = [
        ("oncall@userhub.local", "UserhubTargetDown"),
        ("team@userhub.local", "UserhubLatencyBudgetBurnSlow"),
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let messages = mon.smtp.messages();
        let missing: Vec<_> = EXPECTED
            .iter()
            .filter(|(to, alert)| {
                !messages.iter().any(|m| {
                    let data = m.data_str();
                    m.to.iter().any(|t| t == to)
                        && data.contains(alert)
                        && data.contains("docs/runbooks.md#")
                })
            })
            .collect();
        if missing.is_empty() {
            println!(
                "live: the email copies reached on-call and the team ({} emails)",
                messages.len()
            );
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "no email about {} within 60 s of its Slack message ({} emails arrived)",
            missing
                .iter()
                .map(|(to, alert)| format!("{alert} to {to}"))
                .collect::<Vec<_>>()
                .join(", "),
            messages.len()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- traffic

#[derive(Debug, Clone)]
struct Http {
    client: reqwest::Client,
}

impl Http {
    fn new() -> Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()?,
        })
    }

    async fn api_login(&self, api: SocketAddr, email: &str, password: &str) -> Result<String> {
        let resp = self
            .client
            .post(format!("http://{api}/api/v1/login/access-token"))
            .form(&[("username", email), ("password", password)])
            .send()
            .await?;
        ensure!(resp.status() == 200, "login answered {}", resp.status());
        let body: Value = resp.json().await?;
        Ok(body["access_token"]
            .as_str()
            .context("no access_token")?
            .to_owned())
    }

    /// Logs in through the web UI (CSRF token from the form, session cookie).
    async fn web_login(&self, web: SocketAddr, email: &str, password: &str) -> Result<String> {
        let page = self
            .client
            .get(format!("http://{web}/login"))
            .send()
            .await?;
        let mut cookie = cookies(&page);
        let html = page.text().await?;
        let marker = r#"name="csrf" value=""#;
        let at = html.find(marker).context("no csrf field on /login")? + marker.len();
        let csrf = &html[at..at + html[at..].find('"').context("unterminated csrf value")?];
        let resp = self
            .client
            .post(format!("http://{web}/login"))
            .header("cookie", &cookie)
            .form(&[("email", email), ("password", password), ("csrf", csrf)])
            .send()
            .await?;
        ensure!(resp.status() == 303, "web login answered {}", resp.status());
        let fresh = cookies(&resp);
        if !fresh.is_empty() {
            cookie = fresh;
        }
        Ok(cookie)
    }
}

fn cookies(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Requests by `target status`.
#[derive(Debug, Clone, Default)]
struct Stats(Arc<std::sync::Mutex<BTreeMap<String, u64>>>, Arc<AtomicU64>);

impl Stats {
    fn record(&self, target: &str, status: Option<u16>) {
        let key = match status {
            Some(s) => format!("{target} {s}"),
            None => format!("{target} error"),
        };
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default() += 1;
        self.1.fetch_add(1, Ordering::Relaxed);
    }

    fn summary(&self) -> String {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        format!(
            "{} in total: {}",
            self.1.load(Ordering::Relaxed),
            map.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

async fn send(
    stats: &Stats,
    target: &str,
    request: reqwest::RequestBuilder,
) -> Option<reqwest::Response> {
    match request.send().await {
        Ok(resp) => {
            stats.record(target, Some(resp.status().as_u16()));
            Some(resp)
        }
        Err(_) => {
            stats.record(target, None);
            None
        }
    }
}

/// Failed logins, a lockout, an account creation and a recovery mail.
async fn one_off_flows(http: &Http, api: SocketAddr, token: &str, smtp: &SmtpSink) -> Result<()> {
    let c = &http.client;
    let base = format!("http://{api}/api/v1");
    let bearer = format!("Bearer {token}");
    let victim = "locked.out@example.com";
    let resp = c
        .post(format!("{base}/users/"))
        .header("authorization", &bearer)
        .json(&serde_json::json!({"email": victim, "password": random_hex(12)?, "full_name": "Locked Out"}))
        .send()
        .await?;
    ensure!(
        resp.status() == 200,
        "creating a user answered {}",
        resp.status()
    );
    for attempt in 1..=3 {
        let resp = c
            .post(format!("{base}/login/access-token"))
            .form(&[("username", victim), ("password", "wrong-password")])
            .send()
            .await?;
        ensure!(
            resp.status() == 400,
            "failed login {attempt} answered {}",
            resp.status()
        );
    }
    let resp = c
        .post(format!("{base}/login/access-token"))
        .form(&[("username", victim), ("password", "wrong-password")])
        .send()
        .await?;
    ensure!(
        resp.status() == 429,
        "the locked-out account answered {}",
        resp.status()
    );
    let resp = c
        .post(format!("{base}/login/access-token"))
        .form(&[
            ("username", "nobody@example.com"),
            ("password", "whatever-it-is"),
        ])
        .send()
        .await?;
    ensure!(
        resp.status() == 400,
        "login of an unknown user answered {}",
        resp.status()
    );
    let resp = c
        .post(format!("{base}/password-recovery/{victim}"))
        .send()
        .await?;
    ensure!(
        resp.status() == 200,
        "password recovery answered {}",
        resp.status()
    );
    let mails = smtp.wait_for(2, Duration::from_secs(20)).await?;
    ensure!(
        mails
            .iter()
            .any(|m| m.to.iter().any(|t| t == victim)
                && m.data_str().contains("reset-password?token=")),
        "no recovery mail for {victim} among {} messages",
        mails.len()
    );
    println!(
        "live: account created, 3 failed logins + lockout (429), unknown user (400), recovery mail delivered"
    );
    Ok(())
}

/// The API mix of one client: 2xx reads and writes, 401, 404, 422, unmatched.
async fn api_mix(
    http: Http,
    api: SocketAddr,
    token: String,
    worker: usize,
    stop: watch::Receiver<bool>,
    stats: Stats,
) {
    let c = &http.client;
    let base = format!("http://{api}/api/v1");
    let bearer = format!("Bearer {token}");
    let mut last_item: Option<String> = None;
    for i in 0..MAX_REQUESTS_PER_LOOP {
        if *stop.borrow() {
            return;
        }
        let step = (i as usize + worker * 5) % 10;
        let request = match step {
            0 => c.get(format!("{base}/items/")).header("authorization", &bearer),
            1 => c.get(format!("{base}/users/me")).header("authorization", &bearer),
            2 => c.get(format!("{base}/utils/health-check/")),
            3 => c
                .post(format!("{base}/items/"))
                .header("authorization", &bearer)
                .json(&serde_json::json!({"title": format!("item {worker}-{i}"), "description": "live-stack test"})),
            4 => match &last_item {
                Some(id) => c.get(format!("{base}/items/{id}")).header("authorization", &bearer),
                None => c.get(format!("{base}/items/")).header("authorization", &bearer),
            },
            5 => match last_item.take() {
                Some(id) => c.delete(format!("{base}/items/{id}")).header("authorization", &bearer),
                None => c.get(format!("{base}/users/me")).header("authorization", &bearer),
            },
            6 => c.get(format!("{base}/users/me")),
            7 => c
                .get(format!("{base}/items/00000000-0000-4000-8000-00000000000{}", worker % 10))
                .header("authorization", &bearer),
            8 => c.post(format!("{base}/items/")).header("authorization", &bearer).json(&serde_json::json!({})),
            _ => c.get(format!("http://{api}/api/v1/no-such-route")),
        };
        if let Some(resp) = send(&stats, "api", request).await
            && step == 3
            && resp.status() == 200
            && let Ok(body) = resp.json::<Value>().await
        {
            last_item = body["id"].as_str().map(str::to_owned);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// During the fault: clients competing for the one pool connection.
async fn api_pressure(
    http: Http,
    api: SocketAddr,
    token: String,
    stop: watch::Receiver<bool>,
    stats: Stats,
) {
    let bearer = format!("Bearer {token}");
    for _ in 0..MAX_REQUESTS_PER_LOOP {
        if *stop.borrow() {
            return;
        }
        let request = http
            .client
            .get(format!("http://{api}/api/v1/items/"))
            .header("authorization", &bearer);
        if send(&stats, "api", request).await.is_none() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Anonymous web traffic: the login page (200), a protected page (303), an unknown path (404).
async fn web_anonymous(http: Http, web: SocketAddr, stop: watch::Receiver<bool>, stats: Stats) {
    for i in 0..MAX_REQUESTS_PER_LOOP {
        if *stop.borrow() {
            return;
        }
        let path = match i % 20 {
            0..=16 => "/login",
            17 | 18 => "/",
            _ => "/no-such-page",
        };
        let _ = send(
            &stats,
            "web",
            http.client.get(format!("http://{web}{path}")),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A logged-in user opening API-backed pages every 2 s (each without
/// waiting for the previous one, as separate users would).
async fn web_session(
    http: Http,
    web: SocketAddr,
    cookie: String,
    stop: watch::Receiver<bool>,
    stats: Stats,
) {
    let mut pages = JoinSet::new();
    for i in 0..MAX_REQUESTS_PER_LOOP {
        if *stop.borrow() {
            break;
        }
        let path = if i % 2 == 0 { "/items" } else { "/" };
        let request = http
            .client
            .get(format!("http://{web}{path}"))
            .header("cookie", &cookie);
        let stats = stats.clone();
        pages.spawn(async move {
            let _ = send(&stats, "web", request).await;
        });
        while pages.try_join_next().is_some() {}
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    pages.abort_all();
}

/// Light traffic on the all-in-one process until it is killed.
async fn serve_mix(http: Http, serve: SocketAddr, stop: watch::Receiver<bool>, stats: Stats) {
    for i in 0..MAX_REQUESTS_PER_LOOP {
        if *stop.borrow() {
            return;
        }
        let path = match i % 3 {
            0 => "/api/v1/utils/health-check/",
            1 => "/login",
            _ => "/api/v1/users/me",
        };
        let _ = send(
            &stats,
            "serve",
            http.client.get(format!("http://{serve}{path}")),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
