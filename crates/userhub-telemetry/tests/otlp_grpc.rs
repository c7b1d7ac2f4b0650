//! End to end over OTLP/gRPC: a real tonic receiver gets the spans; the
//! trace id in spans, log lines, the `traceparent` response header and the
//! `/metrics` exemplar is one and the same.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::sync::LazyLock;

use openmetrics_parser::{OpenMetricsValue, PrometheusValue};
use support::{Fixture, Protocol, traceparent};

static FX: LazyLock<Fixture> = LazyLock::new(|| Fixture::start(Protocol::Grpc));

const OPENMETRICS: &str =
    "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

#[test]
fn one_request_links_spans_logs_and_exemplar() {
    let fx = &*FX;
    fx.rt.block_on(async {
        let resp = fx
            .client
            .get(format!("http://{}/items/abc?token=s3cr3t-value", fx.app))
            .header("user-agent", "linktest/1.0")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let (trace_id, server_span_id, flags) = traceparent(&resp);
        assert_eq!(flags, "01", "parent-based always-on samples root requests");
        let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid_like(&request_id), "generated request id: {request_id}");

        // Spans: the server span and its database child, one trace.
        let spans = fx.spans(&trace_id, 2).await;
        let server = spans
            .iter()
            .find(|s| s.kind == 2)
            .unwrap_or_else(|| panic!("no server span in {spans:#?}"));
        assert_eq!(server.name, "GET /items/{id}");
        assert_eq!(server.span_id, server_span_id);
        assert_eq!(server.parent_span_id, "", "root span");
        assert_eq!(server.attributes["http.request.method"], "GET");
        assert_eq!(server.attributes["http.route"], "/items/{id}");
        assert_eq!(server.attributes["http.response.status_code"], "200");
        assert_eq!(server.attributes["user.id"], "user-42");
        assert_eq!(server.attributes["user_agent.original"], "linktest/1.0");
        assert_eq!(server.attributes["client.address"], "127.0.0.1");
        assert_ne!(server.status_code, 2, "200 is not an error");
        let db = spans
            .iter()
            .find(|s| s.name == "SELECT item")
            .unwrap_or_else(|| panic!("no db span in {spans:#?}"));
        assert_eq!(db.kind, 3, "database spans are CLIENT spans");
        assert_eq!(db.parent_span_id, server.span_id);
        assert_eq!(db.attributes["db.system.name"], "sqlite");
        assert_eq!(db.attributes["db.operation.name"], "SELECT");

        // Logs: every line of this request carries the trace id.
        let lines = fx.logs.for_request(&request_id);
        assert!(lines.len() >= 2, "{lines:#?}");
        for line in &lines {
            assert_eq!(line["trace_id"], trace_id.as_str(), "{line}");
        }
        let db_line = lines
            .iter()
            .find(|l| l["message"] == "loaded item")
            .unwrap();
        assert_eq!(db_line["span"], "SELECT item");
        assert_eq!(db_line["level"], "INFO");
        let access = lines
            .iter()
            .find(|l| l["target"] == "userhub::access")
            .unwrap();
        assert_eq!(access["method"], "GET");
        assert_eq!(access["route"], "/items/{id}");
        assert_eq!(access["status"], 200);
        assert_eq!(access["user_id"], "user-42");
        assert_eq!(access["user_agent"], "linktest/1.0");
        assert_eq!(access["client_address"], "127.0.0.1");
        assert!(access["duration_ms"].as_f64().unwrap() > 0.0);
        assert_eq!(access["span_id"], server_span_id.as_str());
        assert!(
            !fx.logs.text().contains("s3cr3t-value"),
            "query strings never reach the logs"
        );

        // Metrics: the OpenMetrics exemplar names the same trace.
        let (ct, body) = fx.scrape(Some(OPENMETRICS)).await;
        assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
        let exposition = openmetrics_parser::openmetrics::parse_openmetrics(&body).unwrap();
        let family = &exposition.families["http_server_request_duration_seconds"];
        let exemplars: Vec<String> = family
            .iter_samples()
            .filter(|s| {
                s.get_labelset().unwrap().get_label_value("http_route") == Some("/items/{id}")
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
        assert!(
            exemplars.contains(&trace_id),
            "exemplars {exemplars:?} lack {trace_id}"
        );
    });
}

#[test]
fn incoming_traceparent_is_continued_and_request_id_echoed() {
    let fx = &*FX;
    fx.rt.block_on(async {
        let parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        let parent_span = "00f067aa0ba902b7";
        let resp = fx
            .client
            .get(format!("http://{}/traced/1", fx.app))
            .header("traceparent", format!("00-{parent_trace}-{parent_span}-01"))
            .header("tracestate", "vendor=abc")
            .header("x-request-id", "req-continued-1")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-request-id"], "req-continued-1");
        let (trace_id, span_id, flags) = traceparent(&resp);
        assert_eq!(trace_id, parent_trace);
        assert_ne!(span_id, parent_span, "the server span is a new span");
        assert_eq!(flags, "01");
        let spans = fx.spans(parent_trace, 2).await;
        let server = spans.iter().find(|s| s.kind == 2).unwrap();
        assert_eq!(server.parent_span_id, parent_span);
        assert_eq!(server.span_id, span_id);
        for line in fx.logs.for_request("req-continued-1") {
            assert_eq!(line["trace_id"], parent_trace, "{line}");
        }
        assert!(!fx.logs.for_request("req-continued-1").is_empty());

        // A caller that did not sample: the decision is kept, nothing exported.
        let unsampled_trace = "0af7651916cd43dd8448eb211c80319c";
        let resp = fx
            .client
            .get(format!("http://{}/traced/2", fx.app))
            .header(
                "traceparent",
                format!("00-{unsampled_trace}-b7ad6b7169203331-00"),
            )
            .send()
            .await
            .unwrap();
        let (trace_id, _, flags) = traceparent(&resp);
        assert_eq!((trace_id.as_str(), flags.as_str()), (unsampled_trace, "00"));
        fx.guard.force_flush().await;
        assert!(fx.received.for_trace(unsampled_trace).is_empty());
    });
}

#[test]
fn server_errors_mark_the_span_as_error_and_log_the_chain() {
    let fx = &*FX;
    fx.rt.block_on(async {
        let resp = fx
            .client
            .get(format!("http://{}/fail", fx.app))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
        let (trace_id, _, _) = traceparent(&resp);
        let spans = fx.spans(&trace_id, 1).await;
        let server = spans.iter().find(|s| s.kind == 2).unwrap();
        assert_eq!(server.status_code, 2, "5xx sets STATUS_CODE_ERROR");
        assert_eq!(server.attributes["http.response.status_code"], "500");
        let request_id = resp.headers()["x-request-id"].to_str().unwrap();
        let lines = fx.logs.for_request(request_id);
        let err = lines.iter().find(|l| l["level"] == "ERROR").unwrap();
        assert_eq!(err["error"], "disk on fire");
        assert_eq!(err["trace_id"], trace_id.as_str());
    });
}

#[test]
fn unknown_paths_add_no_series_beyond_unmatched() {
    let fx = &*FX;
    fx.rt.block_on(async {
        for i in 0..1000u32 {
            let path = format!("/random/{}/{i}", uuid_v4_like(i));
            let resp = fx
                .client
                .get(format!("http://{}{path}", fx.app))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 404);
        }
        let (_, body) = fx.scrape(None).await;
        let exposition = openmetrics_parser::prometheus::parse_prometheus(&body).unwrap();
        let family = &exposition.families["http_server_request_duration_seconds"];
        let routes: HashSet<String> = family
            .iter_samples()
            .map(|s| {
                s.get_labelset()
                    .unwrap()
                    .get_label_value("http_route")
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let allowed: HashSet<String> = ["/items/{id}", "/traced/{id}", "/fail", "unmatched"]
            .map(str::to_owned)
            .into();
        assert!(routes.is_subset(&allowed), "{routes:?}");
        let unmatched: Vec<_> = family
            .iter_samples()
            .filter(|s| {
                s.get_labelset().unwrap().get_label_value("http_route") == Some("unmatched")
            })
            .collect();
        assert_eq!(unmatched.len(), 1, "one series for all 1000 unknown paths");
        match &unmatched[0].value {
            PrometheusValue::Histogram(h) => assert!(h.count.unwrap() >= 1000),
            other => panic!("not a histogram: {other:?}"),
        }
        assert!(!body.contains("/random/"), "raw paths never become labels");
    });
}

#[test]
fn metrics_parse_as_prometheus_text_and_openmetrics() {
    let fx = &*FX;
    fx.metrics.record_db_operation("select", "item", 0.0002);
    fx.metrics.record_db_acquire_timeout();
    fx.metrics.record_password_hash("verify", 0.08);
    fx.metrics.record_user_registered();
    fx.metrics.record_item_created();
    fx.metrics.record_items_deleted(2);
    fx.metrics.record_email("test", "sent");
    fx.metrics.record_rate_limited("login");
    fx.metrics.set_pool_stats_source(|| FixedPool);
    fx.rt.block_on(async {
        // Each test may run in its own process (nextest): make one request
        // here so the HTTP histogram has a series to expose.
        let resp = fx
            .client
            .get(format!("http://{}/items/7", fx.app))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success() || resp.status().is_client_error());
        let (ct, text) = fx.scrape(None).await;
        assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
        assert!(!text.contains("# EOF"));
        let prom = openmetrics_parser::prometheus::parse_prometheus(&text).unwrap();
        for name in [
            "http_server_request_duration_seconds",
            "http_server_active_requests",
            "db_client_operation_duration_seconds",
            "db_client_connection_timeouts_total",
            "userhub_logins_total",
            "userhub_password_hash_duration_seconds",
            "userhub_users_registered_total",
            "userhub_items_created_total",
            "userhub_items_deleted_total",
            "userhub_emails_total",
            "userhub_rate_limited_requests_total",
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_start_time_seconds",
            "userhub_build_info",
            "db_client_connection_count",
            "db_client_connection_max",
            "db_client_connection_pending_requests",
        ] {
            assert!(prom.families.contains_key(name), "{name} missing:\n{text}");
        }
        assert!(
            text.contains("db_client_connection_count{db_client_connection_state=\"used\"} 3\n")
        );
        assert!(text.contains("db_client_connection_pending_requests 1\n"));
        assert!(text.contains("userhub_items_deleted_total 2\n"));
        assert!(
            text.contains("# TYPE userhub_logins_total counter"),
            "Prometheus text names counters with _total"
        );

        let (ct, om) = fx.scrape(Some("application/openmetrics-text")).await;
        assert_eq!(
            ct,
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        assert!(om.ends_with("# EOF\n"));
        let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&om).unwrap();
        assert!(parsed.families.contains_key("userhub_logins"));
        let info = &parsed.families["userhub_build_info"];
        let labels = info.iter_samples().next().unwrap().get_labelset().unwrap();
        assert_eq!(
            labels.get_label_value("version"),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert!(labels.get_label_value("rustc").unwrap().starts_with("1."));
        assert!(labels.get_label_value("git_commit").is_some());
    });
}

#[test]
fn admin_listener_answers_health_probes() {
    let fx = &*FX;
    fx.rt.block_on(async {
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

/// A pool with 3 connections in use, 2 idle, 10 at most and 1 task waiting.
struct FixedPool;

impl userhub_telemetry::PoolGauges for FixedPool {
    fn in_use(&self) -> u64 {
        3
    }
    fn idle(&self) -> u64 {
        2
    }
    fn max(&self) -> u64 {
        10
    }
    fn waiters(&self) -> u64 {
        1
    }
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

/// Distinct, unpredictable-looking path segments without a RNG dependency.
fn uuid_v4_like(i: u32) -> String {
    let x = (u64::from(i) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{x:016x}")
}
