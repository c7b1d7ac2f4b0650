//! `cargo xtask schemathesis`: property-based conformance of the running
//! API against its own OpenAPI document, with every schemathesis check, on
//! SQLite and on a throwaway PostgreSQL.
//!
//! Installs schemathesis (the version pinned in
//! `crates/xtask/schemathesis/requirements.txt`) into `target/venv/schemathesis`,
//! builds `userhub`, starts `userhub api` (development mode, so the
//! development-only routes are exercised too) on a free loopback port for
//! each database, logs in as the first superuser and runs
//! `schemathesis run` with a bounded number of examples per operation.
//! Reports (JUnit) and server logs go to `artifacts/schemathesis/`.
//!
//! Options: `--backend sqlite|postgres` (default both), `--max-examples N`
//! (default 25), `--max-time SECONDS` per database (default 150). Check
//! exclusions are explained in docs/testing.md.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd;

const REQUIREMENTS: &str = "crates/xtask/schemathesis/requirements.txt";
/// Which checks are narrowed for which operations, and why.
const CONFIG: &str = "crates/xtask/schemathesis/schemathesis.toml";
/// Per backend, by default: schemathesis shares this time between its
/// phases (fuzzing takes what coverage and stateful leave).
const DEFAULT_MAX_TIME_SECONDS: u64 = 150;
const DEFAULT_MAX_EXAMPLES: u32 = 25;
const ADMIN_EMAIL: &str = "schemathesis-admin@example.com";
const ADMIN_PASSWORD: &str = "schemathesis-admin-password";

/// What one `schemathesis run` may do.
#[derive(Debug, Clone, Copy)]
struct Budget {
    max_examples: u32,
    max_time: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// `cargo xtask schemathesis [--backend sqlite|postgres] [--max-examples N] [--max-time SECONDS]`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One database only (default: both)
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// Examples generated per operation
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_EXAMPLES)]
    pub max_examples: u32,
    /// Time bound per database, shared by the phases
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_MAX_TIME_SECONDS)]
    pub max_time: u64,
}

pub fn run(args: &Args) -> Result<()> {
    let backends = match args.backend {
        Some(backend) => vec![backend],
        None => vec![Backend::Sqlite, Backend::Postgres],
    };
    let budget = Budget {
        max_examples: args.max_examples,
        max_time: Duration::from_secs(args.max_time),
    };
    let root = cmd::workspace_root();
    let schemathesis = cmd::timed("schemathesis: virtualenv", || ensure_venv(&root))?;
    let bin = cmd::timed("schemathesis: build userhub", || cmd::build_userhub(false))?;
    let artifacts = root.join("artifacts/schemathesis");
    std::fs::create_dir_all(&artifacts)
        .with_context(|| format!("creating {}", artifacts.display()))?;
    for backend in backends {
        cmd::timed(&format!("schemathesis on {}", backend.name()), || {
            run_backend(backend, &bin, &schemathesis, &artifacts, budget)
        })?;
    }
    Ok(())
}

/// `target/venv/schemathesis` with the pinned requirements; rebuilt when
/// the requirements file changes.
fn ensure_venv(root: &Path) -> Result<PathBuf> {
    let venv = root.join("target/venv/schemathesis");
    let requirements = root.join(REQUIREMENTS);
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let marker = venv.join("installed-requirements.txt");
    let bin = venv.join("bin/schemathesis");
    if bin.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(bin);
    }
    if !python_has_venv() {
        println!("schemathesis: installing python3-venv (apt-get)");
        crate::delivery::cmd::apt_install(&["python3-venv", "python3-pip"])?;
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .with_context(|| format!("removing the stale {}", venv.display()))?;
    }
    let mut create = Command::new("python3");
    create.arg("-m").arg("venv").arg(&venv);
    cmd::run(create)?;
    let mut pip = Command::new(venv.join("bin/pip"));
    pip.args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements);
    cmd::run(pip)?;
    std::fs::write(&marker, wanted).with_context(|| format!("writing {}", marker.display()))?;
    Ok(bin)
}

fn python_has_venv() -> bool {
    Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A `userhub api` child, stopped (SIGTERM, then kill) on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(
    bin: &Path,
    database_url: &str,
    data_dir: &Path,
    log: &Path,
    smtp_port: u16,
) -> Result<Server> {
    let port = free_port()?;
    let admin = free_port()?;
    let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut command = Command::new(bin);
    for (key, _) in std::env::vars() {
        if key.starts_with("USERHUB_")
            || key.starts_with("OTEL_")
            || key.starts_with("SMTP_")
            || ["SECRET_KEY", "DATABASE_URL", "ENVIRONMENT", "FASTAPI_ENV"].contains(&key.as_str())
        {
            command.env_remove(key);
        }
    }
    command
        .arg("api")
        .current_dir(data_dir)
        // Development: the development-only routes are in the document and tested.
        .env("ENVIRONMENT", "development")
        .env("DATABASE_URL", database_url)
        .env("USERHUB_DATA_DIR", data_dir)
        .env("USERHUB_BIND", format!("127.0.0.1:{port}"))
        .env("USERHUB_ADMIN_BIND", format!("127.0.0.1:{admin}"))
        .env("USERHUB_LOG_FORMAT", "json")
        .env("USERHUB_SHUTDOWN_DELAY_SECONDS", "0")
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", smtp_port.to_string())
        .env("SMTP_TLS", "false")
        .env("EMAILS_FROM_EMAIL", "noreply@example.com")
        .env("FIRST_SUPERUSER", ADMIN_EMAIL)
        .env("FIRST_SUPERUSER_PASSWORD", ADMIN_PASSWORD)
        // The contract is under test here, not the throttles (which have
        // their own tests): generated logins must not lock anyone out.
        .env("USERHUB_IP_BURST", "1000000")
        .env("USERHUB_LOGIN_MAX_FAILURES", "1000000")
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    Ok(server)
}

fn run_backend(
    backend: Backend,
    bin: &Path,
    schemathesis: &Path,
    artifacts: &Path,
    budget: Budget,
) -> Result<()> {
    // A worker thread of its own: the mail sink answers while schemathesis runs.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // Mail goes to a local sink, so the routes that send it (test email,
    // password recovery) are exercised for real rather than answering 503.
    let sink = runtime
        .block_on(userhub_testkit::SmtpSink::start())
        .context("starting the SMTP sink")?;
    let data = tempfile::tempdir()?;
    // Kept alive for the whole run (stopped on drop).
    let mut _cluster = None;
    let database_url = match backend {
        Backend::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            data.path().join("userhub.db").display()
        ),
        Backend::Postgres => {
            let cluster = userhub_testkit::TestPostgres::start()
                .context("starting the throwaway PostgreSQL")?;
            let url = runtime.block_on(userhub_testkit::create_database(&cluster.admin_url()))?;
            _cluster = Some(cluster);
            url
        }
    };
    let log = artifacts.join(format!("server-{}.log", backend.name()));
    let server = start_server(bin, &database_url, data.path(), &log, sink.port())?;
    let (token, admin_id) = runtime
        .block_on(log_in(&server.base))
        .with_context(|| format!("server log: {}", log.display()))?;
    // The run's own account stays usable: generated requests may target
    // any other user, but deactivating or demoting the caller (as the
    // reference allows a superuser to do to itself) would turn every later
    // request into 400 "Inactive user".
    std::fs::write(
        artifacts.join("userhub_hooks.py"),
        format!(
            "import schemathesis\n\n\n\
             @schemathesis.hook\n\
             def before_call(ctx, case, **kwargs):\n    \
             if (case.path_parameters or {{}}).get(\"user_id\") == \"{admin_id}\":\n        \
             case.path_parameters[\"user_id\"] = \"00000000-0000-4000-8000-000000000000\"\n"
        ),
    )?;

    let mut st = Command::new(schemathesis);
    st.arg("--config-file")
        .arg(cmd::workspace_root().join(CONFIG))
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", server.base))
        .args(["--url", &server.base])
        .args(["--max-examples", &budget.max_examples.to_string()])
        .args(["--seed", "20261129"])
        // One worker: with two, Python 3.11's `ast` module (hypothesis
        // describes its strategies with it) fails with "AST constructor
        // recursion depth mismatch" now and then (CPython gh-106905).
        .args(["--workers", "1"])
        .args(["--request-timeout", "20"])
        .args(["--generation-database", "none"])
        .args(["--suppress-health-check", "too_slow,filter_too_much"])
        .args(["--max-time", &budget.max_time.as_secs().to_string()])
        .arg("--no-color")
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--report", "junit"])
        .arg("--report-junit-path")
        .arg(artifacts.join(format!("junit-{}.xml", backend.name())))
        .env("SCHEMATHESIS_HOOKS", "userhub_hooks")
        .env("PYTHONPATH", artifacts)
        .current_dir(artifacts);
    let started = Instant::now();
    let status = cmd::status(st)?;
    println!(
        "schemathesis on {}: {status} in {:.0} s (server log: {})",
        backend.name(),
        started.elapsed().as_secs_f64(),
        log.display()
    );
    drop(server);
    if !status.success() {
        bail!(
            "schemathesis found failures on {} (see above)",
            backend.name()
        );
    }
    Ok(())
}

/// Waits for readiness, then logs in as the first superuser: its token and id.
async fn log_in(base: &str) -> Result<(String, String)> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = client
            .get(format!("{base}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            break;
        }
        if Instant::now() > deadline {
            bail!("userhub api at {base} was not ready within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let response = client
        .post(format!("{base}/api/v1/login/access-token"))
        .form(&[("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("superuser login failed: {}", response.status());
    }
    let body: serde_json::Value = response.json().await?;
    let token = body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the login answer")?;
    let me: serde_json::Value = client
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = me["id"].as_str().context("no id in /users/me")?.to_owned();
    Ok((token, id))
}
