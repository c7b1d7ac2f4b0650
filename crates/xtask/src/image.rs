//! `cargo xtask image`: builds the Userhub container image and smoke-tests it for real.
//!
//! Default (`--source prebuilt`): a static musl binary built on the host is
//! assembled into a `FROM scratch` image with `deploy/docker/prebuilt.Dockerfile`
//! (nothing is pulled). `--source dockerfile` builds the canonical
//! `deploy/docker/Dockerfile` from official images instead (hosted CI).
//! Then the image is checked (size, user, labels, health check) and run
//! read-only, as uid 65532, on the host network bound to loopback: `/livez`,
//! `/readyz`, API calls, the Docker health check, the web service, a Prometheus
//! scrape of both admin listeners with the repository's configuration, and a
//! SIGTERM that must end the process with exit code 0 within the drain deadline.

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::delivery::docker::{self, Engine};
use crate::delivery::{
    cmd, free_loopback_addr, http, prometheus, random_hex, repo_root, target_dir,
};
use crate::livestack::Prometheus;

/// The final image may not exceed this many bytes (25 MB).
pub const MAX_IMAGE_BYTES: u64 = 25_000_000;
/// The non-root user the image runs as.
pub const IMAGE_USER: &str = "65532:65532";
const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";
const SOURCE_URL: &str = "https://github.com/userhub/userhub";
/// `USERHUB_SHUTDOWN_TIMEOUT_SECONDS` given to the container, and the drain deadline checked.
const DRAIN_SECONDS: u64 = 20;

/// Where the image's binary is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// A static musl binary built here, staged into deploy/docker/prebuilt.Dockerfile (no registry needed)
    Prebuilt,
    /// The multi-stage deploy/docker/Dockerfile (pulls its base images)
    Dockerfile,
}

/// `cargo xtask image [--source prebuilt|dockerfile] [--tag NAME]`: builds the
/// image and smoke-tests it.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = Source::Prebuilt)]
    pub source: Source,
    /// The image's tag
    #[arg(long, value_name = "NAME", default_value = DEFAULT_TAG)]
    pub tag: String,
}

const DEFAULT_TAG: &str = "userhub:local";

impl Default for Args {
    fn default() -> Self {
        Self {
            source: Source::Prebuilt,
            tag: DEFAULT_TAG.to_owned(),
        }
    }
}

/// Entry point of `cargo xtask image`.
pub fn run(opts: &Args) -> Result<()> {
    let started = Instant::now();
    let work = target_dir().join("xtask-image");
    fs::create_dir_all(&work)?;
    let _engine = Engine::ensure(&work)?;
    let meta = BuildMeta::collect()?;
    match opts.source {
        Source::Prebuilt => {
            let binary = build_static_binary(&meta)?;
            let context = stage_context(&binary, &work.join("context"))?;
            build_prebuilt(&context, &opts.tag, &meta)?;
        }
        Source::Dockerfile => build_from_dockerfile(&opts.tag, &meta)?,
    }
    let size = check_image(&opts.tag, &meta)?;
    eprintln!(
        "image {}: {size} bytes ({:.1} MB), user {IMAGE_USER}",
        opts.tag,
        size as f64 / 1e6
    );
    smoke_test(&opts.tag, &work, &meta)?;
    eprintln!(
        "image: OK ({} built and smoke-tested in {:.0} s)",
        opts.tag,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// OCI label values for this build.
#[derive(Debug)]
struct BuildMeta {
    version: String,
    revision: String,
    created: String,
}

impl BuildMeta {
    fn collect() -> Result<Self> {
        let root = repo_root();
        let revision = cmd::capture(
            Command::new("git")
                .arg("-C")
                .arg(&root)
                .args(["rev-parse", "HEAD"]),
        )
        .unwrap_or_else(|_| "unknown".to_owned());
        let short: String = revision.chars().take(12).collect();
        let created = cmd::capture(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]))?;
        Ok(Self {
            version: format!("{}+{short}", env!("CARGO_PKG_VERSION")),
            revision,
            created,
        })
    }

    fn build_args(&self) -> Vec<String> {
        [
            ("VERSION", self.version.as_str()),
            ("REVISION", self.revision.as_str()),
            ("CREATED", self.created.as_str()),
            ("SOURCE", SOURCE_URL),
        ]
        .iter()
        .flat_map(|(k, v)| ["--build-arg".to_owned(), format!("{k}={v}")])
        .collect()
    }
}

/// Where [`build_static_binary`] leaves the static musl `userhub` (the
/// load and drill CI steps run this binary, so CI builds it once).
pub fn static_binary_path() -> PathBuf {
    target_dir().join(MUSL_TARGET).join("release/userhub")
}

fn build_static_binary(meta: &BuildMeta) -> Result<PathBuf> {
    if let Some(rustup) = cmd::which("rustup") {
        let installed = cmd::capture(Command::new(&rustup).current_dir(repo_root()).args([
            "target",
            "list",
            "--installed",
        ]))?;
        if !installed.lines().any(|l| l.trim() == MUSL_TARGET) {
            cmd::run(Command::new(&rustup).current_dir(repo_root()).args([
                "target",
                "add",
                MUSL_TARGET,
            ]))?;
        }
    }
    // ring and SQLite compile C code for the target.
    cmd::ensure_apt("musl-gcc", &["musl-tools"])?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // As the Dockerfile does with its REVISION build argument: the commit
    // reaches userhub_build_info even where git is not available.
    cmd::run(
        Command::new(cargo)
            .current_dir(repo_root())
            .env("USERHUB_GIT_COMMIT", &meta.revision)
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "userhub",
                "--target",
                MUSL_TARGET,
            ]),
    )?;
    let binary = static_binary_path();
    let bytes = fs::read(&binary).with_context(|| format!("reading {}", binary.display()))?;
    ensure!(
        is_static_elf(&bytes)?,
        "{} has a program interpreter: not a static binary",
        binary.display()
    );
    Ok(binary)
}

/// True when an ELF64 file has no `PT_INTERP` program header (statically linked).
fn is_static_elf(bytes: &[u8]) -> Result<bool> {
    ensure!(
        bytes.len() > 64 && &bytes[..4] == b"\x7fELF",
        "not an ELF file"
    );
    ensure!(
        bytes[4] == 2 && bytes[5] == 1,
        "not a little-endian ELF64 file"
    );
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let phoff = u64::from_le_bytes(bytes[32..40].try_into()?) as usize;
    let phentsize = u16_at(54) as usize;
    let phnum = u16_at(56) as usize;
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        ensure!(at + 4 <= bytes.len(), "truncated program header table");
        let p_type = u32::from_le_bytes(bytes[at..at + 4].try_into()?);
        if p_type == 3 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Lays out the build context of `prebuilt.Dockerfile`.
fn stage_context(binary: &Path, context: &Path) -> Result<PathBuf> {
    if context.exists() {
        fs::remove_dir_all(context)?;
    }
    let rootfs = context.join("rootfs");
    let bin_dir = rootfs.join("usr/local/bin");
    let etc = rootfs.join("etc");
    let certs = etc.join("ssl/certs");
    for dir in [&bin_dir, &certs, &context.join("data")] {
        fs::create_dir_all(dir)?;
    }
    // Symbols are dropped as in the canonical Dockerfile (`install -s`).
    let strip = cmd::ensure_apt("strip", &["binutils"])?;
    cmd::run(
        Command::new(strip)
            .args(["--strip-all", "-o"])
            .arg(bin_dir.join("userhub"))
            .arg(binary),
    )?;
    set_mode(&bin_dir.join("userhub"), 0o755)?;
    let ca = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if !ca.exists() {
        cmd::ensure_apt("update-ca-certificates", &["ca-certificates"])?;
    }
    fs::copy(ca, certs.join("ca-certificates.crt"))
        .with_context(|| format!("copying {}", ca.display()))?;
    fs::write(
        etc.join("passwd"),
        "nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n",
    )?;
    fs::write(etc.join("group"), "nonroot:x:65532:\n")?;
    for file in ["passwd", "group", "ssl/certs/ca-certificates.crt"] {
        set_mode(&etc.join(file), 0o644)?;
    }
    set_mode(&context.join("data"), 0o700)?;
    Ok(context.to_path_buf())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

fn build_prebuilt(context: &Path, tag: &str, meta: &BuildMeta) -> Result<()> {
    let dockerfile = repo_root().join("deploy/docker/prebuilt.Dockerfile");
    cmd::run(
        Command::new("docker")
            .arg("build")
            .arg("-f")
            .arg(&dockerfile)
            .args(["-t", tag])
            .args(meta.build_args())
            .arg(context),
    )
}

fn build_from_dockerfile(tag: &str, meta: &BuildMeta) -> Result<()> {
    let root = repo_root();
    let mut command = Command::new("docker");
    let buildx = cmd::output(Command::new("docker").args(["buildx", "version"]))
        .map(|o| o.status.success())
        .unwrap_or(false);
    if buildx {
        command.args(["buildx", "build", "--load"]);
        for (var, flag) in [
            ("USERHUB_IMAGE_CACHE_FROM", "--cache-from"),
            ("USERHUB_IMAGE_CACHE_TO", "--cache-to"),
        ] {
            if let Ok(value) = std::env::var(var)
                && !value.is_empty()
            {
                command.arg(flag).arg(value);
            }
        }
    } else {
        command.arg("build").env("DOCKER_BUILDKIT", "1");
    }
    command
        .arg("-f")
        .arg(root.join("deploy/docker/Dockerfile"))
        .args(["-t", tag])
        .args(meta.build_args())
        .arg(&root);
    cmd::run(&mut command)
}

/// Checks size, user, labels, entrypoint and health check; returns the size.
fn check_image(tag: &str, meta: &BuildMeta) -> Result<u64> {
    let size: u64 = docker::inspect(tag, "{{.Size}}")?.parse()?;
    ensure!(
        size <= MAX_IMAGE_BYTES,
        "image {tag} is {size} bytes, over the {MAX_IMAGE_BYTES} byte budget"
    );
    let user = docker::inspect(tag, "{{.Config.User}}")?;
    ensure!(
        user == IMAGE_USER,
        "image user is {user:?}, expected {IMAGE_USER}"
    );
    let labels: serde_json::Value =
        serde_json::from_str(&docker::inspect(tag, "{{json .Config.Labels}}")?)?;
    for (key, expected) in [
        ("org.opencontainers.image.source", SOURCE_URL),
        ("org.opencontainers.image.revision", meta.revision.as_str()),
        ("org.opencontainers.image.version", meta.version.as_str()),
        ("org.opencontainers.image.created", meta.created.as_str()),
    ] {
        let got = labels[key].as_str().unwrap_or_default();
        ensure!(
            got == expected,
            "label {key} is {got:?}, expected {expected:?}"
        );
    }
    let health = docker::inspect(tag, "{{json .Config.Healthcheck.Test}}")?;
    ensure!(
        health == r#"["CMD","/usr/local/bin/userhub","healthcheck"]"#,
        "unexpected HEALTHCHECK {health}"
    );
    let entrypoint = docker::inspect(tag, "{{json .Config.Entrypoint}}")?;
    ensure!(
        entrypoint == r#"["/usr/local/bin/userhub"]"#,
        "unexpected ENTRYPOINT {entrypoint}"
    );
    Ok(size)
}

/// A container started for the smoke test; removed on drop.
#[derive(Debug)]
struct Container {
    name: String,
}

impl Container {
    fn run(
        image: &str,
        name: &str,
        command: &str,
        extra: &[&str],
        env: &[(&str, String)],
    ) -> Result<Self> {
        docker::remove_container(name);
        let mut run = Command::new("docker");
        run.args(["run", "-d", "--name", name])
            .args(["--network", "host", "--read-only"])
            .args(["--tmpfs", "/data:uid=65532,gid=65532,mode=0700"])
            .args(["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]);
        for (key, value) in env {
            run.arg("-e").arg(format!("{key}={value}"));
        }
        run.args(extra).arg(image).arg(command);
        cmd::capture(&mut run)?;
        Ok(Self {
            name: name.to_owned(),
        })
    }

    fn logs(&self) -> String {
        cmd::output(Command::new("docker").args(["logs", "--tail", "40", &self.name]))
            .map(|o| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .unwrap_or_default()
    }

    fn with_logs<T>(&self, result: Result<T>) -> Result<T> {
        result.with_context(|| format!("container {} logs:\n{}", self.name, self.logs()))
    }

    /// Polls `GET path` until 200; fails at once if the container stops.
    fn wait_for_200(&self, addr: SocketAddr, path: &str, deadline: Duration) -> Result<Duration> {
        let start = Instant::now();
        loop {
            if docker::inspect(&self.name, "{{.State.Running}}")? != "true" {
                let code = docker::inspect(&self.name, "{{.State.ExitCode}}")?;
                bail!(
                    "{} exited with code {code} before {path} answered 200",
                    self.name
                );
            }
            let remaining = deadline.saturating_sub(start.elapsed());
            match http::wait_for_200(addr, path, remaining.min(Duration::from_secs(1))) {
                Ok(_) => return Ok(start.elapsed()),
                Err(err) if start.elapsed() >= deadline => return Err(err),
                Err(_) => {}
            }
        }
    }

    fn wait_healthy(&self, deadline: Duration) -> Result<Duration> {
        let start = Instant::now();
        loop {
            let status = docker::inspect(&self.name, "{{.State.Health.Status}}")?;
            if status == "healthy" {
                return Ok(start.elapsed());
            }
            if start.elapsed() > deadline {
                let log = docker::inspect(&self.name, "{{json .State.Health.Log}}")?;
                bail!(
                    "{} health is {status:?} after {deadline:?}; probes: {log}",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Checks the container's process runs as uid/gid 65532 (from /proc on the host).
    fn check_process_ids(&self) -> Result<()> {
        let pid = docker::inspect(&self.name, "{{.State.Pid}}")?;
        let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
        for key in ["Uid:", "Gid:"] {
            let line = status
                .lines()
                .find(|l| l.starts_with(key))
                .with_context(|| format!("no {key} in /proc/{pid}/status"))?;
            let ids: Vec<&str> = line.split_whitespace().skip(1).collect();
            ensure!(
                ids.len() == 4 && ids.iter().all(|id| *id == "65532"),
                "{}: process {key} {ids:?}, expected 65532 everywhere",
                self.name
            );
        }
        let read_only = docker::inspect(&self.name, "{{.HostConfig.ReadonlyRootfs}}")?;
        ensure!(
            read_only == "true",
            "{}: root filesystem is not read-only",
            self.name
        );
        Ok(())
    }

    /// Sends SIGTERM and waits for the exit; returns (exit code, time taken).
    fn terminate(&self, deadline: Duration) -> Result<(i64, Duration)> {
        let start = Instant::now();
        cmd::capture(Command::new("docker").args(["kill", "--signal", "TERM", &self.name]))?;
        loop {
            let running = docker::inspect(&self.name, "{{.State.Running}}")?;
            if running == "false" {
                let code: i64 = docker::inspect(&self.name, "{{.State.ExitCode}}")?.parse()?;
                return Ok((code, start.elapsed()));
            }
            if start.elapsed() > deadline {
                bail!("{} still running {deadline:?} after SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        docker::remove_container(&self.name);
    }
}

fn smoke_test(image: &str, work: &Path, meta: &BuildMeta) -> Result<()> {
    let api_addr = free_loopback_addr()?;
    let api_admin = free_loopback_addr()?;
    let web_addr = free_loopback_addr()?;
    let web_admin = free_loopback_addr()?;
    let secret = random_hex(32)?;
    let password = random_hex(12)?;
    let email = "smoke-admin@example.com";
    let suffix = std::process::id();
    let drain = DRAIN_SECONDS.to_string();

    let api = Container::run(
        image,
        &format!("userhub-smoke-api-{suffix}"),
        "api",
        &[
            "--health-interval=1s",
            "--health-retries=3",
            "--health-start-period=30s",
            "--health-timeout=3s",
        ],
        &[
            ("ENVIRONMENT", "production".to_owned()),
            ("SECRET_KEY", secret.clone()),
            ("USERHUB_BIND", api_addr.to_string()),
            ("USERHUB_ADMIN_BIND", api_admin.to_string()),
            ("FIRST_SUPERUSER", email.to_owned()),
            ("FIRST_SUPERUSER_PASSWORD", password.clone()),
            ("USERHUB_SHUTDOWN_TIMEOUT_SECONDS", drain.clone()),
        ],
    )?;
    let ready = api.with_logs(api.wait_for_200(api_addr, "/readyz", Duration::from_secs(60)))?;
    api.with_logs(check_api(api_addr, api_admin, email, &password))?;
    api.with_logs(check_build_info(api_admin, &meta.revision))?;
    eprintln!(
        "smoke: api ready in {:.1} s; /livez, /readyz and API calls OK",
        ready.as_secs_f64()
    );
    let healthy = api.with_logs(api.wait_healthy(Duration::from_secs(60)))?;
    eprintln!(
        "smoke: api Docker health check healthy after {:.1} s more",
        healthy.as_secs_f64()
    );
    api.check_process_ids()?;
    eprintln!("smoke: api runs as uid/gid 65532 on a read-only root filesystem");

    // The web service runs under the image's own HEALTHCHECK (GET /readyz
    // on USERHUB_BIND) with an admin listener of its own.
    let web = Container::run(
        image,
        &format!("userhub-smoke-web-{suffix}"),
        "web",
        &[
            "--health-interval=1s",
            "--health-retries=3",
            "--health-start-period=30s",
            "--health-timeout=3s",
        ],
        &[
            ("ENVIRONMENT", "production".to_owned()),
            ("SECRET_KEY", secret),
            ("USERHUB_API_URL", format!("http://{api_addr}")),
            ("USERHUB_COOKIE_KEY", random_hex(64)?),
            ("USERHUB_BIND", web_addr.to_string()),
            ("USERHUB_ADMIN_BIND", web_admin.to_string()),
            ("USERHUB_SHUTDOWN_TIMEOUT_SECONDS", drain),
        ],
    )?;
    web.with_logs(web.wait_for_200(web_addr, "/readyz", Duration::from_secs(60)))?;
    web.with_logs(
        expect_status(http::get(web_addr, "/login", &[])?, 200, "GET web /login").map(drop),
    )?;
    for path in ["/livez", "/readyz", "/metrics"] {
        web.with_logs(
            expect_status(
                http::get(web_admin, path, &[])?,
                200,
                &format!("GET web admin {path}"),
            )
            .map(drop),
        )?;
    }
    let healthy = web.with_logs(web.wait_healthy(Duration::from_secs(60)))?;
    web.check_process_ids()?;
    eprintln!(
        "smoke: web serves /login, /readyz and its admin listener; Docker health check healthy after {:.1} s",
        healthy.as_secs_f64()
    );

    api.with_logs(scrape_with_prometheus(api_admin, web_admin, work))?;

    for container in [&web, &api] {
        let (code, took) = container.terminate(Duration::from_secs(DRAIN_SECONDS + 10))?;
        ensure!(
            code == 0,
            "{} exited with {code} after SIGTERM\n{}",
            container.name,
            container.logs()
        );
        ensure!(
            took <= Duration::from_secs(DRAIN_SECONDS),
            "{} took {took:?} to stop, over the {DRAIN_SECONDS} s drain deadline",
            container.name
        );
        eprintln!(
            "smoke: {} exited 0 {:.2} s after SIGTERM",
            container.name,
            took.as_secs_f64()
        );
    }
    Ok(())
}

fn check_api(api: SocketAddr, admin: SocketAddr, email: &str, password: &str) -> Result<()> {
    expect_status(http::get(api, "/readyz", &[])?, 200, "GET /readyz")?;
    expect_status(http::get(api, "/livez", &[])?, 200, "GET /livez")?;
    expect_status(http::get(admin, "/livez", &[])?, 200, "GET admin /livez")?;
    expect_status(http::get(admin, "/readyz", &[])?, 200, "GET admin /readyz")?;
    let health = http::get(api, "/api/v1/utils/health-check/", &[])?;
    ensure!(
        health.status == 200 && health.body.trim() == "true",
        "health-check answered {} {}",
        health.status,
        health.body
    );
    let form = format!("username={}&password={password}", email.replace('@', "%40"));
    let login = http::request(
        api,
        "POST",
        "/api/v1/login/access-token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )?;
    let login = expect_status(login, 200, "POST /api/v1/login/access-token")?;
    let token: serde_json::Value = serde_json::from_str(&login.body)?;
    let token = token["access_token"]
        .as_str()
        .context("login response has no access_token")?;
    let bearer = format!("Bearer {token}");
    let me = http::get(api, "/api/v1/users/me", &[("Authorization", &bearer)])?;
    let me = expect_status(me, 200, "GET /api/v1/users/me")?;
    let me: serde_json::Value = serde_json::from_str(&me.body)?;
    ensure!(
        me["email"] == email && me["is_superuser"] == true,
        "users/me returned {me}"
    );
    let anonymous = http::get(api, "/api/v1/users/me", &[])?;
    expect_status(anonymous, 401, "GET /api/v1/users/me without a token")?;
    let body = br#"{"title":"smoke item","description":"written by cargo xtask image"}"#;
    let created = http::request(
        api,
        "POST",
        "/api/v1/items/",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        body,
    )?;
    expect_status(
        created,
        200,
        "POST /api/v1/items/ (SQLite write on the /data tmpfs)",
    )?;
    let items = http::get(api, "/api/v1/items/", &[("Authorization", &bearer)])?;
    let items = expect_status(items, 200, "GET /api/v1/items/")?;
    let items: serde_json::Value = serde_json::from_str(&items.body)?;
    ensure!(items["count"] == 1, "items after one create: {items}");
    Ok(())
}

/// `userhub_build_info` names the commit the image was built from (the
/// runbook's "was there a deploy?" step relies on it).
fn check_build_info(admin: SocketAddr, revision: &str) -> Result<()> {
    let metrics = expect_status(
        http::get(admin, "/metrics", &[])?,
        200,
        "GET admin /metrics",
    )?;
    let commit = build_info_commit(&metrics.body)
        .context("no userhub_build_info{git_commit=...} on /metrics")?;
    let expected: String = revision.chars().take(12).collect();
    ensure!(
        revision != "unknown" && commit == expected,
        "userhub_build_info has git_commit={commit:?}, expected {expected:?} (the built revision {revision})"
    );
    eprintln!("smoke: userhub_build_info git_commit={commit}");
    Ok(())
}

/// The `git_commit` label of `userhub_build_info` in a text exposition.
fn build_info_commit(exposition: &str) -> Option<String> {
    let line = exposition
        .lines()
        .find(|l| l.starts_with("userhub_build_info{"))?;
    let at = line.find("git_commit=\"")? + "git_commit=\"".len();
    let end = line[at..].find('"')?;
    Some(line[at..at + end].to_owned())
}

fn expect_status(resp: http::Response, status: u16, what: &str) -> Result<http::Response> {
    ensure!(
        resp.status == status,
        "{what} answered {} (expected {status}): {}",
        resp.status,
        resp.body
    );
    Ok(resp)
}

/// Runs the Debian Prometheus with observability/prometheus/prometheus.yml,
/// targets rewritten to loopback, and requires the API job up.
fn scrape_with_prometheus(api_admin: SocketAddr, web_admin: SocketAddr, work: &Path) -> Result<()> {
    let prom_dir = work.join("prometheus");
    if prom_dir.exists() {
        fs::remove_dir_all(&prom_dir)?;
    }
    fs::create_dir_all(&prom_dir)?;
    let prom_addr = free_loopback_addr()?;
    let config = fs::read_to_string(prometheus::config_path())?;
    let mut targets = BTreeMap::from([
        ("api:9464".to_owned(), api_admin),
        ("web:9464".to_owned(), web_admin),
        ("localhost:9090".to_owned(), prom_addr),
    ]);
    // Services that do not run here get a free loopback port: they show as down.
    prometheus::fill_unused_targets(&config, &mut targets)?;
    let rules = repo_root().join("observability/prometheus/rules");
    let rewritten = prometheus::rewrite_for_loopback(&config, &targets, &rules)?;
    let config_file = prom_dir.join("prometheus.yml");
    fs::write(&config_file, rewritten)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = runtime.block_on(Prometheus::start(&config_file, prom_addr, &prom_dir))?;
    let up = runtime.block_on(server.wait_until_up(
        &["userhub-api", "userhub-web", "prometheus"],
        Duration::from_secs(60),
    ))?;
    for target in up.iter().filter(|t| t.job.starts_with("userhub")) {
        eprintln!(
            "smoke: prometheus target {} {} {}",
            target.job, target.url, target.health
        );
    }
    for target in up.iter().filter(|t| t.health != "up") {
        eprintln!(
            "smoke: (not running here) {} {}: {}",
            target.job, target.url, target.last_error
        );
    }
    for job in ["userhub-api", "userhub-web"] {
        let query = format!(r#"userhub_build_info{{job="{job}"}}"#);
        let series = runtime.block_on(server.query(&query, None))?.len();
        ensure!(
            series == 1,
            "userhub_build_info of {job} has {series} series, expected 1"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_test_binary_is_an_elf_file() {
        let exe = std::env::current_exe().expect("current exe");
        let bytes = fs::read(exe).expect("read exe");
        // The host test binary is dynamically linked against glibc.
        assert!(!is_static_elf(&bytes).expect("parse ELF"));
    }

    #[test]
    fn non_elf_is_rejected() {
        assert!(
            is_static_elf(
                b"#!/bin/sh\necho not elf, just a script of some length........................"
            )
            .is_err()
        );
    }

    #[test]
    fn reads_the_commit_of_build_info() {
        let text = "# TYPE userhub_build_info gauge\nuserhub_build_info{version=\"0.1.0\",git_commit=\"0123456789ab\",rustc=\"1.95.0\"} 1\n";
        assert_eq!(build_info_commit(text).as_deref(), Some("0123456789ab"));
        assert_eq!(build_info_commit("nothing"), None);
    }
}
