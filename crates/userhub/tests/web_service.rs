//! `userhub web` as a process: probes on its own port, an admin listener
//! with its own metrics, and a clean exit on SIGTERM.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/free_port.rs"]
mod free_port;
use free_port::free_port;

fn start_web(port: u16, admin: u16) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_userhub"));
    for (key, _) in std::env::vars() {
        if key.starts_with("USERHUB_") || key.starts_with("OTEL_") || key == "ENVIRONMENT" {
            cmd.env_remove(key);
        }
    }
    cmd.arg("web")
        .env("ENVIRONMENT", "production")
        .env("USERHUB_BIND", format!("127.0.0.1:{port}"))
        .env("USERHUB_ADMIN_BIND", format!("127.0.0.1:{admin}"))
        // Nothing listens there: the probes must not depend on the API.
        .env("USERHUB_API_URL", "http://127.0.0.1:9")
        .env(
            "USERHUB_COOKIE_KEY",
            "web-service-test-cookie-key-0123456789",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn wait_for(client: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if client.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not answer within 20 s");
}

async fn get(client: &reqwest::Client, url: &str, accept: &str) -> (u16, String) {
    let resp = client
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_service_serves_probes_and_its_own_metrics_and_stops_on_sigterm() {
    let (port, admin) = (free_port(), free_port());
    let mut child = start_web(port, admin);
    let client = reqwest::Client::new();
    let (app, ops) = (
        format!("http://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{admin}"),
    );
    wait_for(&client, &format!("{app}/livez")).await;
    wait_for(&client, &format!("{ops}/livez")).await;

    let json = "application/json";
    assert_eq!(
        get(&client, &format!("{app}/livez"), json).await,
        (200, r#"{"status":"ok"}"#.to_owned())
    );
    assert_eq!(
        get(&client, &format!("{app}/readyz"), json).await,
        (200, r#"{"status":"ready"}"#.to_owned())
    );
    assert_eq!(get(&client, &format!("{ops}/readyz"), json).await.0, 200);
    assert_eq!(
        get(&client, &format!("{app}/login"), "text/html").await.0,
        200
    );

    let (status, metrics) = get(
        &client,
        &format!("{ops}/metrics"),
        "application/openmetrics-text; version=1.0.0",
    )
    .await;
    assert_eq!(status, 200);
    let login_series = metrics.lines().find(|l| {
        l.starts_with("http_server_request_duration_seconds_count{")
            && l.contains(r#"http_route="/login""#)
            && l.contains(r#"http_response_status_code="200""#)
    });
    assert!(login_series.is_some(), "no /login series in:\n{metrics}");
    assert!(metrics.contains("userhub_build_info{"), "{metrics}");
    assert!(metrics.contains("process_cpu_seconds_total"), "{metrics}");
    // The web service has no database and serves no API: its exposition has
    // exactly the families the dashboard's web panels query, nothing that
    // would stay at zero forever.
    for family in [
        "db_client_",
        "userhub_logins",
        "userhub_emails",
        "userhub_rate_limited",
        "userhub_password_hash",
        "userhub_users_registered",
        "userhub_items_",
    ] {
        assert!(
            !metrics
                .lines()
                .any(|l| l.starts_with(family) || l.starts_with(&format!("# TYPE {family}"))),
            "the web service exposes API-only family {family}:\n{metrics}"
        );
    }
    assert!(
        metrics.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "web did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let output = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "exit 0 after SIGTERM: {status:?}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
