//! CPU per request as a repeatable number: `valgrind --tool=callgrind`
//! counts the instructions the server executes (all its threads, SQLite's
//! engine included; not the PostgreSQL server's) while it answers a run of
//! identical requests, and attributes them to the code that ran them.
//!
//! Counting starts and stops with `callgrind_control -z` / `-d`, which a
//! server blocked in `epoll_wait` only acts on when it next runs code: each
//! command is therefore followed by one request of the same kind, so the
//! counted window holds exactly `REQUESTS + 1` requests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use super::api::Fixture;
use super::server::{Launch, Server};
use super::wrk::Load;

/// Requests in a counted window (plus the one that starts it).
pub const REQUESTS: u32 = 300;
const WARMUP: u32 = 30;
const READY_UNDER_VALGRIND: Duration = Duration::from_secs(600);

/// Where the instructions went, by the crate or library that ran them.
pub const BUCKETS: &[(&str, &[&str])] = &[
    (
        "HTTP (hyper, httparse, http)",
        &["hyper", "httparse", "http::", "<http::", "h2::"],
    ),
    (
        "routing and middleware (axum, tower, tower-http)",
        &["axum", "tower"],
    ),
    (
        "JSON (serde_json, serde)",
        &["serde_json", "serde::", "<serde", "serde_urlencoded"],
    ),
    (
        "JWT (jsonwebtoken, HMAC-SHA256, base64)",
        &[
            "jsonwebtoken",
            "hmac",
            "sha2",
            "ring::",
            "base64",
            "digest::",
        ],
    ),
    ("database driver (sqlx)", &["sqlx"]),
    (
        "SQLite engine",
        &[
            "sqlite3",
            "libsqlite3",
            "vdbe",
            "Vdbe",
            "btree",
            "Btree",
            "pcache",
            "pager",
            "Pager",
            "walFind",
            "walIndex",
            "walChecksum",
            "walTry",
            "walFrames",
            "walHash",
            "walRead",
            "walWrite",
        ],
    ),
    (
        "telemetry (tracing, metrics, OpenTelemetry, access log)",
        &[
            "tracing",
            "opentelemetry",
            "prometheus",
            "userhub_telemetry",
            "metrics",
            "valuable",
        ],
    ),
    (
        "async runtime (tokio, futures)",
        &["tokio", "mio", "futures", "parking_lot"],
    ),
    (
        "allocator and memory copies (libc)",
        &[
            "malloc",
            "free",
            "realloc",
            "calloc",
            "memcpy",
            "memmove",
            "memset",
            "memcmp",
            "_int_",
            "__libc",
            "tcache",
            "unlink_chunk",
            "__memrchr",
            "strlen",
            "_mi_",
            "mi_",
        ],
    ),
    (
        "time, ids, formatting (chrono, uuid, core::fmt)",
        &[
            "chrono",
            "uuid",
            "core::fmt",
            "<core::fmt",
            "alloc::fmt",
            "itoa",
            "ryu",
        ],
    ),
    ("Userhub", &["userhub"]),
];

/// One request kind's count.
#[derive(Debug, Clone)]
pub struct CpuRow {
    pub shape: &'static str,
    pub instructions_per_request: f64,
    /// `(bucket, share of the window's instructions)`, largest first.
    pub buckets: Vec<(&'static str, f64)>,
    /// The single most expensive functions (self cost), share of the window.
    pub top_functions: Vec<(String, f64)>,
}

/// The profile of one binary on one database.
#[derive(Debug, Clone)]
pub struct CpuProfile {
    pub label: String,
    pub rows: Vec<CpuRow>,
}

/// Ensures valgrind (with `callgrind_control` and `callgrind_annotate`).
pub fn ensure_installed() -> Result<()> {
    crate::delivery::cmd::ensure_apt("callgrind_control", &["valgrind"]).map(drop)
}

/// Profiles `binary` on `database_url` for the health check, items read and create.
pub fn profile(
    label: &str,
    binary: &Path,
    database_url: &str,
    work: &Path,
    runtime: &tokio::runtime::Runtime,
) -> Result<CpuProfile> {
    let out_dir = work.join(format!("callgrind-{}", label.replace(' ', "-")));
    std::fs::create_dir_all(&out_dir)?;
    let out_file = format!(
        "--callgrind-out-file={}/callgrind.out.%p",
        out_dir.display()
    );
    let log = out_dir.join("server.log");
    let server = Server::start_under(Launch {
        wrapper: &["valgrind", "--tool=callgrind", &out_file],
        ready_timeout: READY_UNDER_VALGRIND,
        ..Launch::new(binary, database_url, &log)
    })
    .context("starting the server under callgrind")?;
    let fixture = runtime
        .block_on(super::api::prepare(&server.base_url()))
        .context("preparing users and items under callgrind")?;
    let mut rows = Vec::new();
    for (shape, load) in loads(&server, &fixture) {
        let window = runtime.block_on(count(&server, &load, &out_dir))?;
        println!(
            "cpu {label:<28} {shape:<12} {:>12.0} instructions/request",
            window.instructions_per_request
        );
        rows.push(CpuRow { shape, ..window });
    }
    server.stop()?;
    Ok(CpuProfile {
        label: label.to_owned(),
        rows,
    })
}

fn loads(server: &Server, fixture: &Fixture) -> Vec<(&'static str, Load)> {
    let base = server.base_url();
    let token = |t: &str| vec![("Authorization".to_owned(), format!("Bearer {t}"))];
    vec![
        (
            "health check",
            Load {
                name: "cpu-health".into(),
                url: format!("{base}/api/v1/utils/health-check/"),
                method: "GET",
                headers: Vec::new(),
                body: None,
                connections: 1,
            },
        ),
        (
            "items read",
            Load {
                name: "cpu-items".into(),
                url: format!("{base}/api/v1/items/?limit=20"),
                method: "GET",
                headers: token(&fixture.reader_token),
                body: None,
                connections: 1,
            },
        ),
        (
            "create",
            Load {
                name: "cpu-create".into(),
                url: format!("{base}/api/v1/items/"),
                method: "POST",
                headers: {
                    let mut headers = token(&fixture.writer_token);
                    headers.push(("Content-Type".into(), "application/json".into()));
                    headers
                },
                body: Some(
                    r#"{"title":"bench item","description":"created by cargo xtask bench"}"#.into(),
                ),
                connections: 1,
            },
        ),
    ]
}

/// Warm up, zero the counters, send the window, dump, and read the dump.
async fn count(server: &Server, load: &Load, out_dir: &Path) -> Result<CpuRow> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    for _ in 0..WARMUP {
        send(&client, load).await?;
    }
    let zero = control(server.pid(), "-z")?;
    send(&client, load).await?;
    finish(zero, "callgrind_control -z")?;
    for _ in 0..REQUESTS {
        send(&client, load).await?;
    }
    let before: Vec<PathBuf> = dumps(out_dir)?;
    let dump = control(server.pid(), "-d")?;
    send(&client, load).await?;
    finish(dump, "callgrind_control -d")?;
    let file = dumps(out_dir)?
        .into_iter()
        .find(|path| !before.contains(path))
        .context("callgrind wrote no dump")?;
    let (total, functions) = annotate(&file)?;
    ensure!(
        total > 0,
        "callgrind counted no instructions in {}",
        file.display()
    );
    let window = f64::from(REQUESTS + 1);
    let mut buckets: Vec<(&'static str, f64)> =
        BUCKETS.iter().map(|(name, _)| (*name, 0.0)).collect();
    let mut other = 0.0;
    for (function, ir) in &functions {
        let share = *ir as f64 / total as f64;
        match BUCKETS
            .iter()
            .position(|(_, needles)| needles.iter().any(|n| function.contains(n)))
        {
            Some(i) => buckets[i].1 += share,
            None => other += share,
        }
    }
    buckets.push(("other", other));
    buckets.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top_functions = functions
        .iter()
        .take(8)
        .map(|(function, ir)| (function.clone(), *ir as f64 / total as f64))
        .collect();
    Ok(CpuRow {
        shape: "",
        instructions_per_request: total as f64 / window,
        buckets,
        top_functions,
    })
}

async fn send(client: &reqwest::Client, load: &Load) -> Result<()> {
    let mut request = match load.method {
        "POST" => client.post(&load.url),
        _ => client.get(&load.url),
    };
    for (name, value) in &load.headers {
        request = request.header(name, value);
    }
    if let Some(body) = &load.body {
        request = request.body(body.clone());
    }
    let response = request.send().await?;
    let status = response.status();
    response.bytes().await?;
    if !status.is_success() {
        bail!("{} {} answered {status}", load.method, load.url);
    }
    Ok(())
}

fn control(pid: u32, flag: &str) -> Result<Child> {
    Command::new("callgrind_control")
        .arg(flag)
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running callgrind_control")
}

fn finish(child: Child, what: &str) -> Result<()> {
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

fn dumps(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("callgrind.out."))
        })
        .collect())
}

/// Total instructions of a dump and its functions by self cost, largest
/// first, read from the dump itself: `callgrind_annotate` (3.19) lists a
/// thread's outermost frames with their inclusive cost as if it were their
/// own, so its self costs add up to several times the total.
fn annotate(file: &Path) -> Result<(u64, Vec<(String, u64)>)> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let (total, functions) = self_costs(&text);
    Ok((total, functions))
}

/// Self cost per function of a callgrind dump (first event, `Ir`): the cost
/// lines under each `fn=`, less the inclusive cost lines that follow a
/// `calls=` line. Names are compressed as `(id) name` on first use.
pub fn self_costs(text: &str) -> (u64, Vec<(String, u64)>) {
    use std::collections::HashMap;
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut costs: HashMap<&str, u64> = HashMap::new();
    let mut current: Option<&str> = None;
    let mut after_calls = false;
    for line in text.lines() {
        let named = line
            .strip_prefix("fn=")
            .map(|rest| (true, rest))
            .or_else(|| line.strip_prefix("cfn=").map(|rest| (false, rest)));
        if let Some((is_fn, rest)) = named {
            let name = match rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
                Some((id, name)) if !name.trim().is_empty() => {
                    names.insert(id, name.trim());
                    name.trim()
                }
                Some((id, _)) => names.get(id).copied().unwrap_or(id),
                None => rest.trim(),
            };
            if is_fn {
                current = Some(name);
            }
            continue;
        }
        if line.starts_with("calls=") {
            after_calls = true;
            continue;
        }
        let is_cost = line
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'+' || b == b'-' || b == b'*');
        if !is_cost {
            continue;
        }
        if std::mem::take(&mut after_calls) {
            continue;
        }
        let ir = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse::<u64>().ok());
        if let (Some(function), Some(ir)) = (current, ir) {
            *costs.entry(function).or_default() += ir;
        }
    }
    let total = costs.values().sum();
    let mut functions: Vec<(String, u64)> = costs
        .into_iter()
        .map(|(f, ir)| (f.to_owned(), ir))
        .collect();
    functions.sort_by_key(|f| std::cmp::Reverse(f.1));
    (total, functions)
}

#[cfg(test)]
mod tests {
    use super::self_costs;

    #[test]
    fn self_costs_leave_out_the_costs_of_calls() {
        let dump = "events: Ir\nfn=(1) main\n1 10\ncfn=(2) work\ncalls=3 5\n2 700\n+1 5\nfn=(2)\n5 300\nfn=(3) other\n* 40\n";
        let (total, functions) = self_costs(dump);
        assert_eq!(total, 355);
        assert_eq!(
            functions,
            vec![
                ("work".to_owned(), 300),
                ("other".to_owned(), 40),
                ("main".to_owned(), 15)
            ]
        );
    }
}
