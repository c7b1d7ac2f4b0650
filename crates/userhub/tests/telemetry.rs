//! The real application (SQLite, `127.0.0.1:0`) with telemetry exporting to
//! a real OTLP/gRPC receiver: one API request's server span, database child
//! spans, log lines and `/metrics` exemplar share one trace id.

#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Duration;

use openmetrics_parser::{OpenMetricsValue, PrometheusValue};
use serde_json::Value;
use tokio::net::TcpListener;
use userhub::{Application, Mode};
use userhub_core::config::{Config, Environment};
use userhub_telemetry::testing::{Logs, Protocol, Received, ReceivedSpan, start_receiver};
use userhub_telemetry::{AdminServer, Metrics, TelemetryGuard, TelemetrySettings};

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "telemetry-test-password";

struct Fx {
    rt: tokio::runtime::Runtime,
    api: SocketAddr,
    admin: SocketAddr,
    logs: Logs,
    received: Received,
    guard: TelemetryGuard,
    client: reqwest::Client,
    token: String,
    _dir: tempfile::TempDir,
}

static FX: LazyLock<Fx> = LazyLock::new(start);

fn start() -> Fx {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let logs = Logs::default();
    let client = reqwest::Client::new();
    let (api, admin, guard, received, token) = rt.block_on(async {
        let (endpoint, received) = start_receiver(Protocol::Grpc).await;
        let telemetry = TelemetrySettings::load(
            &Config::from_pairs(
                [
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
                    ("USERHUB_LOG_FORMAT", "json"),
                    ("RUST_LOG", "info"),
                ],
                Environment::production(),
            )
            .unwrap(),
        )
        .unwrap();
        let guard = userhub_telemetry::init_with_writer(&telemetry, logs.clone()).unwrap();

        let data_dir = dir.path().to_str().unwrap().to_owned();
        let db_url = format!("sqlite://{data_dir}/userhub.db");
        let config = Config::from_pairs(
            [
                ("SECRET_KEY", "telemetry-test-secret-key-0123456789abcdef"),
                ("DATABASE_URL", db_url.as_str()),
                ("USERHUB_DATA_DIR", data_dir.as_str()),
                ("FIRST_SUPERUSER", ADMIN_EMAIL),
                ("FIRST_SUPERUSER_PASSWORD", ADMIN_PASSWORD),
            ],
            Environment::Deployed("test".to_owned()),
        )
        .unwrap();
        let app = Application::build(&config, Mode::Api, Metrics::new())
            .await
            .unwrap();
        let admin_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = admin_listener.local_addr().unwrap();
        // As in production: its own thread, readiness checked on this runtime.
        let admin_server = AdminServer::start(admin_listener, app.admin_router()).unwrap();
        Box::leak(Box::new(admin_server));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = listener.local_addr().unwrap();
        tokio::spawn(app.run(listener, std::future::pending()));

        let resp = client
            .post(format!("http://{api}/api/v1/login/access-token"))
            .form(&[("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let token = resp.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        (api, admin, guard, received, token)
    });
    Fx {
        rt,
        api,
        admin,
        logs,
        received,
        guard,
        client,
        token,
        _dir: dir,
    }
}

impl Fx {
    async fn spans(&self, trace_id: &str, min: usize) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            self.guard.force_flush().await;
            let spans = self.received.for_trace(trace_id);
            if spans.len() >= min || tokio::time::Instant::now() > deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn scrape(&self, accept: &str) -> String {
        let resp = self
            .client
            .get(format!("http://{}/metrics", self.admin))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    }
}

fn traceparent(resp: &reqwest::Response) -> (String, String) {
    let tp = resp.headers()["traceparent"].to_str().unwrap();
    let parts: Vec<&str> = tp.split('-').collect();
    assert_eq!(parts.len(), 4, "{tp}");
    (parts[1].to_owned(), parts[2].to_owned())
}

#[test]
fn an_api_request_links_server_span_db_spans_logs_and_exemplar() {
    let fx = &*FX;
    fx.rt.block_on(async {
        let resp = fx
            .client
            .get(format!("http://{}/api/v1/items/?skip=0&limit=10", fx.api))
            .bearer_auth(&fx.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let (trace_id, server_span_id) = traceparent(&resp);
        let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();

        let spans = fx.spans(&trace_id, 3).await;
        let server = spans
            .iter()
            .find(|s| s.kind == 2)
            .unwrap_or_else(|| panic!("no server span: {spans:#?}"));
        assert_eq!(server.span_id, server_span_id);
        assert_eq!(server.name, "GET /api/v1/items");
        assert_eq!(server.attributes["http.route"], "/api/v1/items");
        assert_eq!(server.attributes["http.response.status_code"], "200");
        let by_id: HashMap<&str, &ReceivedSpan> =
            spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
        let db_spans: Vec<&ReceivedSpan> = spans
            .iter()
            .filter(|s| s.attributes.get("db.system").map(String::as_str) == Some("sqlite"))
            .collect();
        assert!(
            db_spans.iter().any(|s| s.name == "db.item.list"),
            "no item query span: {spans:#?}"
        );
        for db in &db_spans {
            // Every database span descends from the request's server span.
            let mut cursor = db.parent_span_id.as_str();
            let mut hops = 0;
            while cursor != server.span_id {
                cursor = by_id
                    .get(cursor)
                    .unwrap_or_else(|| panic!("{} is not under the server span", db.name))
                    .parent_span_id
                    .as_str();
                hops += 1;
                assert!(hops < 10);
            }
            assert!(db.attributes.contains_key("db.operation.name"), "{db:?}");
            assert_eq!(db.kind, 3, "database spans are client spans: {db:?}");
            let sql = &db.attributes["db.query.text"];
            assert!(sql.contains(" FROM "), "{db:?}");
            // Values travel as bind parameters, never inside the text.
            assert!(sql.contains("$1"), "{db:?}");
        }
        let list = db_spans.iter().find(|s| s.name == "db.item.list").unwrap();
        assert!(
            list.attributes["db.query.text"].contains("FROM item"),
            "{list:?}"
        );

        let lines = fx.logs.for_request(&request_id);
        assert!(!lines.is_empty());
        for line in &lines {
            assert_eq!(line["trace_id"], trace_id.as_str(), "{line}");
        }
        let access = lines
            .iter()
            .find(|l| l["target"] == "userhub::access")
            .unwrap_or_else(|| panic!("no access log line in {lines:#?}"));
        assert_eq!(access["route"], "/api/v1/items");
        assert_eq!(access["status"], 200);
        assert!(
            uuid_like(access["user_id"].as_str().unwrap()),
            "user id recorded: {access}"
        );
        assert!(
            !fx.logs.text().contains(&fx.token),
            "tokens never reach the logs"
        );
        assert!(!fx.logs.text().contains(ADMIN_PASSWORD));

        let body = fx.scrape("application/openmetrics-text").await;
        let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&body).unwrap();
        let exemplar_traces: HashSet<String> =
            parsed.families["http_server_request_duration_seconds"]
                .iter_samples()
                .filter(|s| {
                    s.get_labelset().unwrap().get_label_value("http_route") == Some("/api/v1/items")
                })
                .flat_map(|s| match &s.value {
                    OpenMetricsValue::Histogram(h) => h
                        .buckets
                        .iter()
                        .filter_map(|b| b.exemplar.as_ref())
                        .map(|e| e.labels["trace_id"].clone())
                        .collect::<Vec<_>>(),
                    other => panic!("not a histogram: {other:?}"),
                })
                .collect();
        assert!(exemplar_traces.contains(&trace_id), "{exemplar_traces:?}");
        assert!(
            parsed
                .families
                .contains_key("db_client_operation_duration_seconds")
        );
    });
}

#[test]
fn an_incoming_traceparent_is_continued() {
    let fx = &*FX;
    fx.rt.block_on(async {
        let parent_trace = "5bf92f3577b34da6a3ce929d0e0e4737";
        let parent_span = "10f067aa0ba902b8";
        let resp = fx
            .client
            .get(format!("http://{}/api/v1/users/me", fx.api))
            .bearer_auth(&fx.token)
            .header("traceparent", format!("00-{parent_trace}-{parent_span}-01"))
            .header("x-request-id", "continued-request")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-request-id"], "continued-request");
        let (trace_id, span_id) = traceparent(&resp);
        assert_eq!(trace_id, parent_trace);
        let spans = fx.spans(parent_trace, 2).await;
        let server = spans.iter().find(|s| s.kind == 2).unwrap();
        assert_eq!(server.parent_span_id, parent_span);
        assert_eq!(server.span_id, span_id);
        assert!(
            spans
                .iter()
                .any(|s| s.name == "db.user.get" || s.attributes.contains_key("db.system"))
        );
        let lines = fx.logs.for_request("continued-request");
        assert!(!lines.is_empty());
        assert!(lines.iter().all(|l| l["trace_id"] == parent_trace));
    });
}

#[test]
fn unknown_paths_share_the_unmatched_series() {
    let fx = &*FX;
    fx.rt.block_on(async {
        for i in 0..1000u64 {
            let segment = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let resp = fx
                .client
                .get(format!("http://{}/nowhere/{segment:016x}/{i}", fx.api))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 404);
        }
        let body = fx.scrape("text/plain").await;
        let parsed = openmetrics_parser::prometheus::parse_prometheus(&body).unwrap();
        let family = &parsed.families["http_server_request_duration_seconds"];
        let unmatched: Vec<_> = family
            .iter_samples()
            .filter(|s| {
                s.get_labelset().unwrap().get_label_value("http_route") == Some("unmatched")
            })
            .collect();
        assert_eq!(unmatched.len(), 1, "one series for all unknown paths");
        match &unmatched[0].value {
            PrometheusValue::Histogram(h) => assert!(h.count.unwrap() >= 1000),
            other => panic!("{other:?}"),
        }
        assert!(!body.contains("/nowhere/"));
    });
}

#[test]
fn the_admin_listener_serves_pool_gauges_and_probes() {
    let fx = &*FX;
    fx.rt.block_on(async {
        let body = fx.scrape("text/plain").await;
        let parsed = openmetrics_parser::prometheus::parse_prometheus(&body).unwrap();
        for name in [
            "db_client_connection_count",
            "db_client_connection_max",
            "db_client_connection_pending_requests",
            "process_resident_memory_bytes",
            "userhub_build_info",
        ] {
            assert!(parsed.families.contains_key(name), "{name} missing");
        }
        for path in ["/livez", "/readyz"] {
            let resp = fx
                .client
                .get(format!("http://{}{path}", fx.admin))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{path}");
        }
    });
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

/// A 60 KB `User-Agent` is logged (and put on the span) cut to
/// `MAX_LOGGED_HEADER_BYTES`, not as a 60 KB line.
#[test]
fn huge_header_values_are_capped_in_the_logs() {
    let fx = &*FX;
    fx.rt.block_on(async {
        let agent = "A".repeat(60 * 1024);
        let resp = fx
            .client
            .get(format!("http://{}/api/v1/utils/health-check/", fx.api))
            .header("user-agent", &agent)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        let lines = fx.logs.for_request(&request_id);
        let access = lines
            .iter()
            .find(|l| l["target"] == "userhub::access")
            .unwrap_or_else(|| panic!("no access log line in {lines:#?}"));
        let logged = access["user_agent"].as_str().unwrap();
        assert!(logged.starts_with("AAAA"), "{logged}");
        assert!(logged.ends_with("[truncated]"), "{logged}");
        assert!(
            logged.len() <= userhub_telemetry::MAX_LOGGED_HEADER_BYTES + 16,
            "{} bytes logged",
            logged.len()
        );
        for line in &lines {
            assert!(
                line.to_string().len() < 4096,
                "log line of {} bytes",
                line.to_string().len()
            );
        }
    });
}
