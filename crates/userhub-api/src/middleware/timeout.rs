//! A deadline per request: past it the client gets a 503 with the
//! contract's body shape, and the handler's future is dropped.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone, Copy)]
pub struct RequestTimeout(pub Duration);

pub async fn request_timeout(
    State(RequestTimeout(limit)): State<RequestTimeout>,
    req: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_secs = limit.as_secs_f64(), "request timed out");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
                axum::Json(json!({ "detail": "Request timed out" })),
            )
                .into_response()
        }
    }
}
