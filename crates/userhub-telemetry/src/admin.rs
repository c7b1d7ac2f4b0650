//! The admin listener's router: `/metrics`, `/livez`, `/readyz`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::exposition::Format;
use crate::metrics::Metrics;

type Readiness = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

#[derive(Clone)]
struct AdminState {
    metrics: Metrics,
    readiness: Readiness,
}

/// `/metrics` (Prometheus text or OpenMetrics by `Accept`), `/livez` (the
/// process answers), `/readyz` (`readiness()` is true, e.g. the database
/// answers). Serve it on its own listener (`USERHUB_ADMIN_BIND`).
pub fn admin_router<F, Fut>(metrics: Metrics, readiness: F) -> Router
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let readiness: Readiness = Arc::new(move || Box::pin(readiness()));
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(AdminState { metrics, readiness })
}

async fn metrics_handler(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let body = state.metrics.render(format);
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

async fn readyz(State(state): State<AdminState>) -> Response {
    if (state.readiness)().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}
