//! Shared test fixture: a real OTLP receiver (gRPC with tonic, or
//! HTTP/protobuf with axum), telemetry initialised against it with logs
//! captured, and a small axum app wrapped in the HTTP telemetry layer.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValueKind;
use prost::Message;
use serde_json::Value;
use tokio::net::TcpListener;
use tracing::Instrument;
use tracing_subscriber::fmt::MakeWriter;
use userhub_core::config::ConfigSource;
use userhub_telemetry::{HttpTelemetryLayer, Metrics, TelemetryGuard, TelemetrySettings};

/// One span as the receiver got it (ids in lowercase hex).
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    /// OTLP `SpanKind`: 2 server, 3 client.
    pub kind: i32,
    /// OTLP `StatusCode`: 2 error.
    pub status_code: i32,
    pub attributes: HashMap<String, String>,
}

#[derive(Clone, Default)]
pub struct Received(Arc<Mutex<Vec<ReceivedSpan>>>);

impl Received {
    fn add(&self, request: ExportTraceServiceRequest) {
        let mut spans = self.0.lock().unwrap();
        for rs in request.resource_spans {
            for ss in rs.scope_spans {
                for s in ss.spans {
                    let attributes = s
                        .attributes
                        .iter()
                        .map(|kv| {
                            let v = match kv.value.as_ref().and_then(|v| v.value.clone()) {
                                Some(AnyValueKind::StringValue(s)) => s,
                                Some(AnyValueKind::IntValue(i)) => i.to_string(),
                                Some(AnyValueKind::BoolValue(b)) => b.to_string(),
                                Some(AnyValueKind::DoubleValue(d)) => d.to_string(),
                                other => format!("{other:?}"),
                            };
                            (kv.key.clone(), v)
                        })
                        .collect();
                    spans.push(ReceivedSpan {
                        trace_id: hex(&s.trace_id),
                        span_id: hex(&s.span_id),
                        parent_span_id: hex(&s.parent_span_id),
                        name: s.name.clone(),
                        kind: s.kind,
                        status_code: s.status.as_ref().map_or(0, |st| st.code),
                        attributes,
                    });
                }
            }
        }
    }

    pub fn for_trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct GrpcReceiver(Received);

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.add(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Captured log output.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Logs {
    /// Every captured line, parsed (each must be one JSON object).
    pub fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    pub fn for_request(&self, request_id: &str) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["request_id"] == request_id)
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

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
        let received = Received::default();
        let (app, admin, guard, metrics) = rt.block_on(async {
            let receiver = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let receiver_addr = receiver.local_addr().unwrap();
            match protocol {
                Protocol::Grpc => {
                    let svc = TraceServiceServer::new(GrpcReceiver(received.clone()));
                    let incoming = tokio_stream::wrappers::TcpListenerStream::new(receiver);
                    tokio::spawn(
                        tonic::transport::Server::builder()
                            .add_service(svc)
                            .serve_with_incoming(incoming),
                    );
                }
                Protocol::HttpProtobuf => {
                    let store = received.clone();
                    let router = Router::new().route(
                        "/v1/traces",
                        post(move |body: axum::body::Bytes| {
                            let store = store.clone();
                            async move {
                                store.add(ExportTraceServiceRequest::decode(body).unwrap());
                                (
                                    [("content-type", "application/x-protobuf")],
                                    ExportTraceServiceResponse::default().encode_to_vec(),
                                )
                            }
                        }),
                    );
                    tokio::spawn(async move { axum::serve(receiver, router).await });
                }
            }
            let endpoint = format!("http://{receiver_addr}");
            let proto = match protocol {
                Protocol::Grpc => "grpc",
                Protocol::HttpProtobuf => "http/protobuf",
            };
            let settings = TelemetrySettings::from_source(&ConfigSource::from_pairs([
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", proto),
                ("OTEL_SERVICE_NAME", "userhub-test"),
                ("USERHUB_LOG_FORMAT", "json"),
                ("RUST_LOG", "info"),
            ]))
            .unwrap();
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
            let admin_router = userhub_telemetry::admin_router(metrics.clone(), || async { true });
            tokio::spawn(async move { axum::serve(admin_listener, admin_router).await });
            (app, admin, guard, metrics)
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
