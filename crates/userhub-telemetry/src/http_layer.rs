//! The tower layer around the API and web routers: the request id (see
//! [`crate::request_id`]), one `SERVER` span per request continuing the
//! caller's W3C trace, one access log line, the HTTP metrics labelled by
//! matched route template, and the `traceparent` response header.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::response::Response;
use http::{HeaderValue, Method};
use opentelemetry::trace::TraceContextExt;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::json_log::{MAX_LOGGED_HEADER_BYTES, truncate_for_log};
use crate::metrics::{HttpLabels, Metrics};
use crate::propagation::extract_context;
use crate::request_id::{WithRequestId, request_id_of, with_request_id};

/// Route label for requests no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

tokio::task_local! {
    static USER_ID: Arc<OnceLock<String>>;
}

/// Names the authenticated user of the request being served (for the access
/// log and the `user.id` span attribute). Call it from the auth extractor; a
/// no-op outside a request.
pub fn record_user_id(id: impl std::fmt::Display) {
    let _ = USER_ID.try_with(|cell| cell.set(id.to_string()));
}

/// Adds request telemetry to a router: `router.layer(HttpTelemetryLayer::new(metrics))`
/// (applied with `Router::layer` so the matched route is known).
#[derive(Debug, Clone)]
pub struct HttpTelemetryLayer {
    metrics: Metrics,
}

impl HttpTelemetryLayer {
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for HttpTelemetryLayer {
    type Service = WithRequestId<HttpTelemetry<S>, axum::body::Body>;
    fn layer(&self, inner: S) -> Self::Service {
        with_request_id(HttpTelemetry {
            inner,
            metrics: self.metrics.clone(),
        })
    }
}

/// The service made by [`HttpTelemetryLayer`].
#[derive(Debug, Clone)]
pub struct HttpTelemetry<S> {
    inner: S,
    metrics: Metrics,
}

impl<S> Service<Request> for HttpTelemetry<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The clone that was driven to readiness serves this request.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        Box::pin(serve(ready, self.metrics.clone(), req))
    }
}

/// Methods outside the standard set share one label value (OpenTelemetry's
/// `_OTHER`), so clients cannot create series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

struct ActiveGuard(prometheus_client::metrics::gauge::Gauge);
impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn serve<S>(mut inner: S, metrics: Metrics, req: Request) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let start = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let request_id = request_id_of(&req).to_owned();
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    let user_agent = req
        .headers()
        .get(http::header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .map(|ua| truncate_for_log(&ua, MAX_LOGGED_HEADER_BYTES).into_owned());

    let span = tracing::info_span!(
        "HTTP request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = %route,
        url.scheme = "http",
        network.protocol.version = ?req.version(),
        client.address = client.as_deref().unwrap_or(""),
        user_agent.original = user_agent.as_deref().unwrap_or(""),
        http.response.status_code = Empty,
        user.id = Empty,
        trace_id = Empty,
        span_id = Empty,
        request_id = %request_id,
    );
    let _ = span.set_parent(extract_context(req.headers()));
    let otel_cx = span.context();
    let span_context = otel_cx.span().span_context().clone();
    let trace_id = span_context.trace_id().to_string();
    span.record("trace_id", trace_id.as_str());
    span.record("span_id", span_context.span_id().to_string().as_str());

    let active = metrics.http_active(method);
    active.inc();
    let _active = ActiveGuard(active);

    let user_cell = Arc::new(OnceLock::new());
    let mut response = USER_ID
        .scope(user_cell.clone(), inner.call(req).instrument(span.clone()))
        .await?;
    let status = response.status();
    let elapsed = start.elapsed();

    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
    let user_id = user_cell.get().map(String::as_str);
    if let Some(user_id) = user_id {
        span.record("user.id", user_id);
    }
    metrics.record_http_request(
        HttpLabels {
            http_request_method: method,
            http_route: route.clone(),
            http_response_status_code: status.as_u16(),
        },
        elapsed.as_secs_f64(),
        span_context.is_sampled().then(|| trace_id.clone()),
    );
    span.in_scope(|| {
        tracing::info!(
            target: "userhub::access",
            method,
            route = %route,
            status = status.as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            client_address = client.as_deref().unwrap_or(""),
            user_agent = user_agent.as_deref().unwrap_or(""),
            user_id = user_id.unwrap_or(""),
            "request completed"
        );
    });

    let headers = response.headers_mut();
    let traceparent = format!(
        "00-{}-{}-{:02x}",
        trace_id,
        span_context.span_id(),
        span_context.trace_flags().to_u8()
    );
    if let Ok(v) = HeaderValue::from_str(&traceparent) {
        headers.insert("traceparent", v);
    }
    Ok(response)
}
