//! The request id (given by telemetry's request-id layers) in the body of
//! opaque 500s.

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use userhub_telemetry::RequestId;

use crate::error::InternalErrorMarker;

/// Answers an internal error with `{"detail": …, "request_id": …}`.
pub async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned);
    let response = next.run(req).await;
    if response.extensions().get::<InternalErrorMarker>().is_none() {
        return response;
    }
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(json!({ "detail": "Internal Server Error", "request_id": id })),
    )
        .into_response()
}

/// Body of the answer to a panicking handler (the panic is logged).
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let message = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned());
    tracing::error!(panic = %message, "handler panicked");
    let mut response = (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(json!({ "detail": "Internal Server Error" })),
    )
        .into_response();
    response.extensions_mut().insert(InternalErrorMarker);
    response
}
