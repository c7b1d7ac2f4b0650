//! Test support (feature `testing`): a real OTLP trace receiver over gRPC
//! (tonic) or HTTP/protobuf (axum) on a loopback port, and a log sink
//! whose lines are parsed as JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
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
use tracing_subscriber::fmt::MakeWriter;

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

/// What a receiver got: every span, or (benchmarks) only how many.
#[derive(Debug, Clone, Default)]
pub struct Received {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    count: Arc<std::sync::atomic::AtomicUsize>,
    count_only: bool,
}

impl Received {
    fn add(&self, request: ExportTraceServiceRequest) {
        let n: usize = request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum();
        self.count
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        if self.count_only {
            return;
        }
        let mut spans = self.spans.lock().unwrap();
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

    /// How many spans arrived in total.
    pub fn count(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn for_trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        self.spans
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
#[derive(Debug, Clone, Default)]
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

/// Which OTLP transport a receiver speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

impl Protocol {
    /// The `OTEL_EXPORTER_OTLP_PROTOCOL` value.
    pub fn env_value(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
        }
    }
}

/// Starts a receiver on `127.0.0.1:0` (call inside a Tokio runtime); returns
/// the endpoint for `OTEL_EXPORTER_OTLP_ENDPOINT` and the span store.
pub async fn start_receiver(protocol: Protocol) -> (String, Received) {
    start_receiver_on(("127.0.0.1", 0), protocol).await
}

/// [`start_receiver`] on a given address.
pub async fn start_receiver_on(
    addr: impl tokio::net::ToSocketAddrs,
    protocol: Protocol,
) -> (String, Received) {
    start(addr, protocol, Received::default()).await
}

/// A receiver that decodes every export but keeps only the span count, as
/// a collector forwarding spans elsewhere would (the overhead benchmark).
pub async fn start_counting_receiver_on(
    addr: impl tokio::net::ToSocketAddrs,
    protocol: Protocol,
) -> (String, Received) {
    let received = Received {
        count_only: true,
        ..Received::default()
    };
    start(addr, protocol, received).await
}

async fn start(
    addr: impl tokio::net::ToSocketAddrs,
    protocol: Protocol,
    received: Received,
) -> (String, Received) {
    let listener = TcpListener::bind(addr)
        .await
        .expect("bind the receiver address");
    let addr: SocketAddr = listener.local_addr().expect("local address");
    match protocol {
        Protocol::Grpc => {
            let svc = TraceServiceServer::new(GrpcReceiver(received.clone()));
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
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
                        store.add(ExportTraceServiceRequest::decode(body).expect("OTLP protobuf"));
                        (
                            [("content-type", "application/x-protobuf")],
                            ExportTraceServiceResponse::default().encode_to_vec(),
                        )
                    }
                }),
            );
            tokio::spawn(async move { axum::serve(listener, router).await });
        }
    }
    (format!("http://{addr}"), received)
}
