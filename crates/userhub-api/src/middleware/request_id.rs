//! `X-Request-Id`: accepted from the client when well-formed, otherwise
//! generated; echoed on the response and put into the body of opaque 500s.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::InternalErrorMarker;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, available to handlers and other middleware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

fn acceptable(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| s.to_owned())
}

pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = match req.extensions().get::<RequestId>() {
        Some(existing) => existing.0.clone(),
        None => req
            .headers()
            .get(&X_REQUEST_ID)
            .and_then(acceptable)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = tracing::Instrument::instrument(next.run(req), span).await;
    if response.extensions().get::<InternalErrorMarker>().is_some() {
        response = (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({ "detail": "Internal Server Error", "request_id": id })),
        )
            .into_response();
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
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
