//! Load shedding: at most `USERHUB_MAX_IN_FLIGHT_REQUESTS` requests are
//! handled at once; a request beyond that is answered 503 with
//! `Retry-After: 1` at once, before authentication, validation or any
//! database work, so an overloaded replica answers its excess in
//! milliseconds instead of queueing it until a timeout. The health probes
//! (`/livez`, `/readyz`) are never shed: a busy replica is alive and ready,
//! and a load balancer must not take every replica out at once.
//!
//! It runs inside the HTTP telemetry layer, so shed answers are counted
//! (with their route) in `http_server_request_duration_seconds` and spend
//! the availability error budget like any other 503.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use tracing::debug;

/// Paths answered whatever the load.
const NEVER_SHED: &[&str] = &["/livez", "/readyz"];

/// The permits of one process.
#[derive(Debug, Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max.max(1))))
    }
}

/// Middleware: run `next` with a permit, or answer 503 when none is free.
pub async fn shed(State(limit): State<InFlight>, request: Request, next: Next) -> Response {
    if NEVER_SHED.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    match limit.0.clone().try_acquire_owned() {
        Ok(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(_) => {
            debug!(
                path = request.uri().path(),
                "in-flight request limit reached: shed"
            );
            overloaded()
        }
    }
}

fn overloaded() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
        axum::Json(
            serde_json::json!({ "detail": "Service temporarily overloaded, retry shortly" }),
        ),
    )
        .into_response()
}
