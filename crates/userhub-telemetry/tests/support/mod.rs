//! Shared test fixture: a real OTLP receiver (gRPC with tonic, or
//! HTTP/protobuf with axum), telemetry initialised against it with logs
//! captured, and a small axum app wrapped in the HTTP telemetry layer.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;
use tracing::Instrument;
use userhub_config::{Config, Environment};
use userhub_telemetry::{HttpTelemetryLayer, Metrics, TelemetryGuard, TelemetrySettings};

pub use userhub_telemetry::testing::{Logs, Protocol, Received, ReceivedSpan, start_receiver};

pub struct Fixture {
    pub rt: tokio::runtime::Runtime,
    pub app: SocketAddr,
    pub admin: SocketAddr,
    pub logs: Logs,
    pub received: Received,
    pub guard: TelemetryGuard,
    pub client: reqwest::Client,
    pub metrics: Metrics,
}

async fn item(Path(id): Path<String>) -> String {
    userhub_telemetry::record_user_id("user-42");
    let db = tracing::info_span!(
        "SELECT item",
        otel.kind = "client",
        db.system.name = "sqlite",
        db.operation.name = "SELECT",
        db.collection.name = "item",
        db.query.text = "SELECT id, title FROM item WHERE id = ?",
    );
    async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        tracing::info!(rows = 1u64, "loaded item");
    }
    .instrument(db)
    .await;
    id
}

async fn fail() -> StatusCode {
    tracing::error!(
        error = &std::io::Error::other("disk on fire") as &dyn std::error::Error,
        "handler failed"
    );
    StatusCode::INTERNAL_SERVER_ERROR
}

impl Fixture {
    pub fn start(protocol: Protocol) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let logs = Logs::default();
        let (app, admin, guard, metrics, received) = rt.block_on(async {
            let (endpoint, received) = start_receiver(protocol).await;
            let proto = protocol.env_value();
            let config = Config::from_pairs(
                [
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", proto),
                    ("OTEL_SERVICE_NAME", "userhub-test"),
                    ("USERHUB_LOG_FORMAT", "json"),
                    ("RUST_LOG", "info"),
                ],
                Environment::production(),
            )
            .unwrap();
            let settings = TelemetrySettings::load(&config).unwrap();
            let guard = userhub_telemetry::init_with_writer(&settings, logs.clone()).unwrap();

            let metrics = Metrics::new();
            let router = Router::new()
                .route("/items/{id}", get(item))
                .route("/traced/{id}", get(item))
                .route("/fail", get(fail))
                .layer(HttpTelemetryLayer::new(metrics.clone()));
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let app = listener.local_addr().unwrap();
            tokio::spawn(async move {
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .await
            });
            let admin_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let admin = admin_listener.local_addr().unwrap();
            let admin_router = userhub_telemetry::admin_router(
                metrics.clone(),
                userhub_telemetry::Readiness::serving(Default::default()),
            );
            tokio::spawn(async move { axum::serve(admin_listener, admin_router).await });
            (app, admin, guard, metrics, received)
        });
        Self {
            rt,
            app,
            admin,
            logs,
            received,
            guard,
            client: reqwest::Client::new(),
            metrics,
        }
    }

    /// Flushes the exporter and waits (at most 10 s) until `trace_id` has at
    /// least `count` spans at the receiver.
    pub async fn spans(&self, trace_id: &str, count: usize) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            self.guard.force_flush().await;
            let spans = self.received.for_trace(trace_id);
            if spans.len() >= count || tokio::time::Instant::now() > deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn scrape(&self, accept: Option<&str>) -> (String, String) {
        let mut req = self.client.get(format!("http://{}/metrics", self.admin));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        (ct, resp.text().await.unwrap())
    }
}

/// The `traceparent` header split into (trace id, span id, flags).
pub fn traceparent(resp: &reqwest::Response) -> (String, String, String) {
    let tp = resp.headers()["traceparent"].to_str().unwrap();
    let parts: Vec<&str> = tp.split('-').collect();
    assert_eq!(parts.len(), 4, "{tp}");
    assert_eq!(parts[0], "00");
    (
        parts[1].to_owned(),
        parts[2].to_owned(),
        parts[3].to_owned(),
    )
}
