//! Probes, docs, headers, timeouts, graceful shutdown and the CLI.

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::*;

async fn probes(b: Backend) {
    let app = TestApp::start(b).await;
    assert_eq!(
        send(app.get("/livez")).await,
        (StatusCode::OK, json!({ "status": "ok" }))
    );
    assert_eq!(
        send(app.get("/readyz")).await,
        (StatusCode::OK, json!({ "status": "ready" }))
    );
    assert_eq!(
        send(app.get("/api/v1/utils/health-check/")).await,
        (StatusCode::OK, json!(true))
    );
}

async fn readyz_reports_pending_migrations(b: Backend) {
    let app = TestApp::builder(b)
        .env("USERHUB_MIGRATE_ON_START", "false")
        .env("FIRST_SUPERUSER", "")
        .env("FIRST_SUPERUSER_PASSWORD", "")
        .start()
        .await;
    let (status, body) = send(app.get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(send(app.get("/livez")).await.0, StatusCode::OK);
    app.app_state.db.migrate().await.unwrap();
    assert_eq!(send(app.get("/readyz")).await.0, StatusCode::OK);
}

async fn headers_request_id_and_cors(b: Backend) {
    let app = TestApp::start(b).await;
    let res = app
        .get("/api/v1/utils/health-check/")
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(res.headers()[name], value);
    }
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let res = app
        .get("/livez")
        .header("X-Request-Id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");

    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/items/"))
        .header("Origin", "http://frontend.test")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://frontend.test"
    );
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let res = app
        .get("/api/v1/utils/health-check/")
        .header("Origin", "http://evil.test")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

async fn openapi_and_docs(b: Backend) {
    let app = TestApp::start(b).await;
    let (status, doc) = send(app.get("/api/v1/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut ids: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| {
            ops.as_object()
                .unwrap()
                .values()
                .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
        })
        .collect();
    ids.sort();
    let expected = [
        "items-create_item",
        "items-delete_item",
        "items-read_item",
        "items-read_items",
        "items-update_item",
        "login-login_access_token",
        "login-recover_password",
        "login-recover_password_html_content",
        "login-reset_password",
        "login-test_token",
        "users-create_user",
        "users-delete_user",
        "users-delete_user_me",
        "users-read_user_by_id",
        "users-read_user_me",
        "users-read_users",
        "users-register_user",
        "users-update_password_me",
        "users-update_user",
        "users-update_user_me",
        "utils-health_check",
        "utils-test_email",
    ];
    assert_eq!(
        ids, expected,
        "private routes are absent outside development"
    );
    let res = app.get("/docs").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "docs load nothing from a CDN"
    );
    assert_eq!(
        app.get("/docs/swagger-ui-bundle.js")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

async fn private_route_only_in_development(b: Backend) {
    let app = TestApp::start(b).await;
    let body = json!({ "email": "dev@example.com", "password": "password123", "full_name": "Dev" });
    assert_eq!(
        send(app.post("/api/v1/private/users/").json(&body)).await.0,
        StatusCode::NOT_FOUND
    );
    let dev = TestApp::builder(b)
        .env("ENVIRONMENT", "development")
        .start()
        .await;
    let (status, user) = send(dev.post("/api/v1/private/users/").json(&body)).await;
    assert_eq!(
        (status, user["email"].as_str(), user["full_name"].as_str()),
        (StatusCode::OK, Some("dev@example.com"), Some("Dev"))
    );
    let (status, body) = send(
        dev.post("/api/v1/private/users/")
            .json(&json!({ "email": "dev2@example.com", "password": "password123" })),
    )
    .await;
    assert_422(status, &body, &[&["body", "full_name"]]);
}

async fn request_timeout_answers_503(b: Backend) {
    let app = TestApp::builder(b)
        .env("USERHUB_REQUEST_TIMEOUT_SECONDS", "0.000001")
        .start()
        .await;
    let (status, body) = send(
        app.post("/api/v1/login/access-token")
            .form(&[("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "detail": "Request timed out" })
        )
    );
}

async fn graceful_shutdown_drains_in_flight_requests(b: Backend) {
    let app = TestApp::start(b).await;
    let client = app.client.clone();
    let url = app.url("/api/v1/login/access-token");
    let in_flight = tokio::spawn(async move {
        client
            .post(url)
            .form(&[("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let addr = app.addr;
    app.stop().await.expect("server stops cleanly");
    let res = in_flight
        .await
        .unwrap()
        .expect("in-flight request completed");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

on_both_backends!(
    probes,
    readyz_reports_pending_migrations,
    headers_request_id_and_cors,
    openapi_and_docs,
    private_route_only_in_development,
    request_timeout_answers_503,
    graceful_shutdown_drains_in_flight_requests,
);

fn userhub() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_userhub"));
    for (key, _) in std::env::vars() {
        if ["SECRET_KEY", "DATABASE_URL", "ENVIRONMENT", "FASTAPI_ENV"].contains(&key.as_str())
            || key.starts_with("USERHUB_")
            || key.starts_with("SMTP_")
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn invalid_configuration_exits_2_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (env, var) in [
        (vec![("SECRET_KEY", "changethis")], "SECRET_KEY"),
        (vec![], "SECRET_KEY"),
        (
            vec![("SECRET_KEY", "real-secret"), ("SMTP_PORT", "many")],
            "SMTP_PORT",
        ),
        (
            vec![
                ("SECRET_KEY", "real-secret"),
                ("DATABASE_URL", "postgres://app:changethis@db/app"),
            ],
            "DATABASE_URL",
        ),
    ] {
        let out = userhub()
            .arg("api")
            .current_dir(dir.path())
            .envs(env.clone())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{env:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(var), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear message: {stderr}");
    }
}

#[test]
fn openapi_subcommand_prints_the_document() {
    let out = userhub().arg("openapi").output().unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["paths"]["/api/v1/login/access-token"]["post"]["operationId"],
        "login-login_access_token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_subcommand_reflects_readiness() {
    let app = TestApp::start(Backend::Sqlite).await;
    let url = app.url("/readyz");
    let ok = tokio::task::spawn_blocking(move || {
        userhub()
            .args(["healthcheck", "--url", &url])
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(ok.success());
    let addr = app.addr;
    app.stop().await.unwrap();
    let down = tokio::task::spawn_blocking(move || {
        userhub()
            .args([
                "healthcheck",
                "--url",
                &format!("http://{addr}/readyz"),
                "--timeout-seconds",
                "1",
            ])
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(down.code(), Some(1));
}

#[test]
fn serve_starts_with_no_configuration_and_prints_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = userhub()
        .arg("serve")
        .current_dir(dir.path())
        .env("USERHUB_BIND", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut ready = false;
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().unwrap();
    assert!(ready, "serve did not listen");
    assert!(
        output.status.success(),
        "exit 0 after SIGTERM: {:?}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("admin@example.com") && stdout.contains("password:"),
        "{stdout}"
    );
    assert!(dir.path().join("data/userhub.db").exists());
    assert!(dir.path().join("data/secret_key").exists());
}
