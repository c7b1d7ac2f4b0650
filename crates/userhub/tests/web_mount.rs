//! `userhub serve` mounts the web UI next to the API: pages, assets and the
//! split 404 (JSON under `/api`, the UI's page elsewhere), with the UI
//! calling the real API in process.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use userhub::{Application, Mode};
use userhub_core::config::{Config, Environment};
use userhub_telemetry::Metrics;

async fn app(
    dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> Result<Application, userhub::StartupError> {
    let dir = dir.to_str().unwrap();
    let mut pairs = vec![
        ("USERHUB_DATA_DIR", dir),
        ("SECRET_KEY", "web-mount-test-secret-key-0123456789abcdef"),
        ("FIRST_SUPERUSER", "admin@example.com"),
        ("FIRST_SUPERUSER_PASSWORD", "admin-password"),
    ];
    pairs.extend_from_slice(extra);
    // As `userhub serve` reads it: development unless ENVIRONMENT says otherwise.
    let config = Config::from_pairs(pairs, Environment::Development).unwrap();
    Application::build(&config, Mode::AllInOne, Metrics::new()).await
}

async fn get(
    router: &axum::Router,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn serve_mounts_the_ui_beside_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let router = app(dir.path(), &[]).await.unwrap().router();

    let (status, headers, body) = get(&router, "/login", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<h1>Log in</h1>"));
    assert_eq!(
        headers["content-security-policy"],
        userhub_web::CSP,
        "the UI's CSP wins"
    );
    let cookie = headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = body
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    let (status, _, body) = get(&router, "/api/v1/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, r#"{"detail":"Not Found"}"#);
    let (status, headers, body) = get(&router, "/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.contains("Page not found"));
    let (status, _, _) = get(&router, userhub_web::stylesheet_url(), None).await;
    assert_eq!(status, StatusCode::OK);

    // Logging in goes through the real API in process.
    let form = format!(
        "csrf={}&email=admin%40example.com&password=admin-password",
        urlencode(&csrf)
    );
    let response = router
        .clone()
        .oneshot(
            Request::post("/login")
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (status, _, body) = get(&router, "/admin", Some(&session)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("admin@example.com"));
}

#[tokio::test]
async fn outside_development_serve_needs_a_cookie_key() {
    let dir = tempfile::tempdir().unwrap();
    let err = app(dir.path(), &[("ENVIRONMENT", "staging")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, userhub::StartupError::Config(ref e) if e.var == "USERHUB_COOKIE_KEY"),
        "{err:?}"
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
