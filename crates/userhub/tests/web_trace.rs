//! A page view's trace holds the web service's span as the ancestor of the
//! API's spans: in `serve` (in-process call) and in split mode (HTTP call
//! carrying `traceparent`), exported to a real OTLP/gRPC receiver.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use userhub::{Application, Mode};
use userhub_core::config::{Config, Environment};
use userhub_telemetry::testing::{Logs, Protocol, Received, ReceivedSpan, start_receiver};
use userhub_telemetry::{Metrics, TelemetryGuard, TelemetrySettings};

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "web-trace-test-password";
const COOKIE_KEY: &str = "web-trace-test-cookie-key-0123456789abcdef";

async fn telemetry() -> (TelemetryGuard, Received) {
    let (endpoint, received) = start_receiver(Protocol::Grpc).await;
    let config = Config::from_pairs(
        [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("USERHUB_LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
        ],
        Environment::production(),
    )
    .unwrap();
    let telemetry = TelemetrySettings::load(&config).unwrap();
    let guard = userhub_telemetry::init_with_writer(&telemetry, Logs::default()).unwrap();
    (guard, received)
}

fn config(dir: &std::path::Path) -> Config {
    let data_dir = dir.to_str().unwrap().to_owned();
    let db_url = format!("sqlite://{data_dir}/userhub.db?mode=rwc");
    Config::from_pairs(
        [
            ("SECRET_KEY", "web-trace-test-secret-key-0123456789abcdef"),
            ("DATABASE_URL", db_url.as_str()),
            ("USERHUB_DATA_DIR", data_dir.as_str()),
            ("FIRST_SUPERUSER", ADMIN_EMAIL),
            ("FIRST_SUPERUSER_PASSWORD", ADMIN_PASSWORD),
            ("USERHUB_COOKIE_KEY", COOKIE_KEY),
        ],
        Environment::Deployed("test".to_owned()),
    )
    .unwrap()
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    addr
}

/// Logs in through the UI at `web`; returns the trace and span id of the
/// web server span of the `POST /login`, which calls the API.
async fn log_in(web: SocketAddr) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(format!("http://{web}/login"))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = page.text().await.unwrap();
    let csrf = body
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let resp = client
        .post(format!("http://{web}/login"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "logged in");
    let tp = resp.headers()["traceparent"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = tp.split('-').collect();
    (parts[1].to_owned(), parts[2].to_owned())
}

async fn spans(guard: &TelemetryGuard, received: &Received, trace_id: &str) -> Vec<ReceivedSpan> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        guard.force_flush().await;
        let spans = received.for_trace(trace_id);
        let has_api = spans
            .iter()
            .any(|s| s.name.contains("/api/v1/login/access-token"));
        if has_api || tokio::time::Instant::now() > deadline {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The API's server span for the login call descends from `web_span`.
fn assert_api_under_web(spans: &[ReceivedSpan], web_span: &str) {
    let web = spans
        .iter()
        .find(|s| s.span_id == web_span)
        .unwrap_or_else(|| panic!("web server span missing: {spans:#?}"));
    assert_eq!(web.kind, 2, "{web:?}");
    assert_eq!(web.name, "POST /login");
    let api = spans
        .iter()
        .find(|s| s.kind == 2 && s.name == "POST /api/v1/login/access-token")
        .unwrap_or_else(|| panic!("no API server span in the page's trace: {spans:#?}"));
    let by_id: HashMap<&str, &ReceivedSpan> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut cursor = api.parent_span_id.as_str();
    let mut chain = vec![api.name.clone()];
    while cursor != web_span {
        let parent = by_id
            .get(cursor)
            .unwrap_or_else(|| panic!("API span not under the web span; chain {chain:?}"));
        chain.push(parent.name.clone());
        cursor = parent.parent_span_id.as_str();
        assert!(chain.len() < 12, "{chain:?}");
    }
    assert!(
        chain.iter().any(|n| n == "api.call"),
        "the web client span sits between: {chain:?}"
    );
    let form = spans
        .iter()
        .find(|s| s.name == "web.form")
        .unwrap_or_else(|| panic!("no web.form span: {spans:#?}"));
    assert_eq!(form.attributes["route"], "/login", "the matched route");
    assert!(
        chain.iter().any(|n| n == "web.form"),
        "the page handler's span sits between: {chain:?}"
    );
    let call = spans
        .iter()
        .find(|s| s.name == "api.call" && s.span_id == api.parent_span_id)
        .unwrap_or_else(|| panic!("the API span's parent is not api.call: {spans:#?}"));
    assert_eq!(call.kind, 3, "api.call is a client span: {call:?}");
    assert_eq!(call.attributes["http.request.method"], "POST");
    assert_eq!(
        call.attributes["url.template"],
        "/api/v1/login/access-token"
    );
    assert_eq!(call.attributes["http.response.status_code"], "200");
}

#[test]
fn page_views_are_parents_of_api_spans_in_both_deployments() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (guard, received) = telemetry().await;

        // All in one: the UI calls the API router in process.
        let dir = tempfile::tempdir().unwrap();
        let app = Application::build(&config(dir.path()), Mode::AllInOne, Metrics::new())
            .await
            .unwrap();
        let addr = serve(app.router()).await;
        let (trace_id, web_span) = log_in(addr).await;
        assert_api_under_web(&spans(&guard, &received, &trace_id).await, &web_span);

        // Split: the web service calls the API over HTTP with `traceparent`.
        let dir = tempfile::tempdir().unwrap();
        let api = Application::build(&config(dir.path()), Mode::Api, Metrics::new())
            .await
            .unwrap();
        let api_addr = serve(api.router()).await;
        let api_url = format!("http://{api_addr}");
        let web_config = Config::from_pairs(
            [
                ("USERHUB_COOKIE_KEY", COOKIE_KEY),
                ("USERHUB_API_URL", api_url.as_str()),
            ],
            Environment::production(),
        )
        .unwrap();
        let web = Application::build(&web_config, Mode::Web, Metrics::http_only())
            .await
            .unwrap();
        let web_addr = serve(web.router()).await;
        let (trace_id, web_span) = log_in(web_addr).await;
        assert_api_under_web(&spans(&guard, &received, &trace_id).await, &web_span);
    });
}
