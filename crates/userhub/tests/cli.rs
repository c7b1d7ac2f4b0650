//! The binary's configuration as an operator meets it: one model for every
//! subcommand (the same variables, aliases and file keys reach `api`, `web`
//! and `healthcheck`), and exit code 2 with one line naming the variable.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const COOKIE_KEY: &str = "cli-test-cookie-key-0123456789abcdef";

#[path = "support/free_port.rs"]
mod free_port;
use free_port::free_port;

/// The binary with none of the configuration of the calling environment.
fn userhub(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_userhub"));
    for (key, _) in std::env::vars() {
        if key.starts_with("USERHUB_")
            || key.starts_with("OTEL_")
            || key.starts_with("SMTP_")
            || key.starts_with("POSTGRES_")
            || ["SECRET_KEY", "DATABASE_URL", "ENVIRONMENT", "FASTAPI_ENV"].contains(&key.as_str())
        {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir);
    cmd
}

/// Runs a subcommand that must refuse to start.
fn refused(cmd: &mut Command) -> (Option<i32>, String) {
    let out: Output = cmd.stdout(Stdio::null()).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `userhub web` on `bind`, its API nowhere (the probes do not need it).
fn spawn_web(dir: &std::path::Path, bind: &str, env: &[(&str, &str)]) -> Child {
    userhub(dir)
        .arg("web")
        .env("USERHUB_API_URL", "http://127.0.0.1:9")
        .env("USERHUB_BIND", bind)
        .env("USERHUB_SHUTDOWN_DELAY_SECONDS", "0")
        .env("USERHUB_ADMIN_BIND", format!("127.0.0.1:{}", free_port()))
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `port` accepts, or the child exits; then stops it with
/// SIGTERM and returns its exit code.
fn serves_then_stops(mut child: Child, port: u16) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut listening = false;
    while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            listening = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    assert!(listening, "did not listen on {port}: {status:?} {stderr}");
    status.code()
}

#[test]
fn web_needs_an_api_url_and_a_cookie_key() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = refused(
        userhub(dir.path())
            .arg("web")
            .env("USERHUB_COOKIE_KEY", COOKIE_KEY),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("USERHUB_API_URL"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let (code, stderr) = refused(
        userhub(dir.path())
            .arg("web")
            .env("USERHUB_API_URL", "http://127.0.0.1:9")
            .env("SECRET_KEY", "a-long-enough-production-key-0123456789"),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("USERHUB_COOKIE_KEY"), "{stderr}");
}

#[test]
fn fastapi_env_reaches_web_too() {
    // The reference's FASTAPI_ENV=local means development for `web` as for
    // `api`: the cookie key then derives from SECRET_KEY.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = spawn_web(
        dir.path(),
        &format!("127.0.0.1:{port}"),
        &[
            ("FASTAPI_ENV", "local"),
            ("SECRET_KEY", "a-development-key"),
        ],
    );
    assert_eq!(serves_then_stops(child, port), Some(0));
}

#[test]
fn a_bad_listener_address_exits_2_for_every_server() {
    let dir = tempfile::tempdir().unwrap();
    for mode in ["serve", "api", "web"] {
        let (code, stderr) = refused(
            userhub(dir.path())
                .arg(mode)
                .env("SECRET_KEY", "a-long-enough-production-key-0123456789")
                .env("USERHUB_COOKIE_KEY", COOKIE_KEY)
                .env("USERHUB_API_URL", "http://127.0.0.1:9")
                .env("USERHUB_BIND", "nowhere"),
        );
        assert_eq!(code, Some(2), "{mode}: {stderr}");
        assert_eq!(
            stderr.trim(),
            r#"userhub: invalid configuration: USERHUB_BIND: expected an address like 0.0.0.0:8000, got "nowhere""#,
            "{mode}"
        );
    }
}

#[test]
fn the_file_is_read_under_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("userhub.toml");
    std::fs::write(&file, "smtp_port = \"many\"\n").unwrap();
    let (code, stderr) = refused(
        userhub(dir.path())
            .args(["--config", file.to_str().unwrap(), "api"])
            .env("SECRET_KEY", "a-long-enough-production-key-0123456789"),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("SMTP_PORT") && stderr.contains("many"),
        "{stderr}"
    );
    // The environment wins over the file: past SMTP_PORT, the next check
    // fails.
    let (code, stderr) = refused(
        userhub(dir.path())
            .args(["--config", file.to_str().unwrap(), "api"])
            .env("SECRET_KEY", "a-long-enough-production-key-0123456789")
            .env("SMTP_PORT", "2525")
            .env("FIRST_SUPERUSER", "not-an-email"),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("FIRST_SUPERUSER"), "{stderr}");

    let missing = dir.path().join("missing.toml");
    let (code, stderr) = refused(
        userhub(dir.path())
            .arg("api")
            .env("USERHUB_CONFIG", &missing),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("USERHUB_CONFIG"), "{stderr}");
}

#[test]
fn healthcheck_probes_the_configured_listener() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = spawn_web(
        dir.path(),
        &format!("0.0.0.0:{port}"),
        &[
            ("ENVIRONMENT", "production"),
            ("USERHUB_COOKIE_KEY", COOKIE_KEY),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "web did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    // USERHUB_BIND from a file, 0.0.0.0 probed on loopback.
    let file = dir.path().join("health.toml");
    std::fs::write(&file, format!("bind = \"0.0.0.0:{port}\"\n")).unwrap();
    let ok = userhub(dir.path())
        .args(["--config", file.to_str().unwrap(), "healthcheck"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let down = userhub(dir.path())
        .args(["healthcheck", "--timeout-seconds", "1"])
        .env("USERHUB_BIND", format!("127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    assert_eq!(serves_then_stops(child, port), Some(0));
}
