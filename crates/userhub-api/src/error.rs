//! The HTTP edge's error type: every failure a handler can return, mapped to
//! the contract's status codes and `{"detail": …}` bodies. Database and
//! unexpected errors become an opaque 500 whose body names only the request
//! id; their full chain is logged.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use userhub_core::security::HashError;
use userhub_storage::StorageError;

use crate::extract::ValidationIssue;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A contract error with a fixed status and `detail` string.
    #[error("{status}: {detail}")]
    Detail {
        status: StatusCode,
        detail: Cow<'static, str>,
    },
    /// No usable `Authorization: Bearer` header.
    #[error("not authenticated")]
    NotAuthenticated,
    /// A bearer token that is forged, malformed, expired or of the wrong kind.
    #[error("invalid token")]
    InvalidToken,
    /// Request validation failed (422 with one entry per problem).
    #[error("request validation failed")]
    Validation(Vec<ValidationIssue>),
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("storage failure")]
    Storage(#[from] StorageError),
    #[error("password hashing failure")]
    Hash(#[from] HashError),
}

impl ApiError {
    pub fn detail(status: StatusCode, detail: &'static str) -> Self {
        Self::Detail {
            status,
            detail: Cow::Borrowed(detail),
        }
    }
    pub fn bad_request(detail: &'static str) -> Self {
        Self::detail(StatusCode::BAD_REQUEST, detail)
    }
    pub fn forbidden(detail: &'static str) -> Self {
        Self::detail(StatusCode::FORBIDDEN, detail)
    }
    pub fn not_found(detail: &'static str) -> Self {
        Self::detail(StatusCode::NOT_FOUND, detail)
    }
    pub fn conflict(detail: &'static str) -> Self {
        Self::detail(StatusCode::CONFLICT, detail)
    }
}

/// Marks a response as an opaque internal error, so the request-id
/// middleware can put the request id into its body.
#[derive(Debug, Clone, Copy)]
pub struct InternalErrorMarker;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Detail { status, detail } => {
                (status, Json(json!({ "detail": detail }))).into_response()
            }
            Self::NotAuthenticated => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
                Json(json!({ "detail": "Not authenticated" })),
            )
                .into_response(),
            Self::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                )],
                Json(json!({ "detail": "Could not validate credentials" })),
            )
                .into_response(),
            Self::Validation(issues) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "detail": issues })),
            )
                .into_response(),
            Self::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                [(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(1)),
                )],
                Json(json!({ "detail": "Too many requests" })),
            )
                .into_response(),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({ "detail": "Request body is too large" })),
            )
                .into_response(),
            Self::Storage(StorageError::PoolTimeout) => {
                tracing::warn!("database pool exhausted: answering 503");
                unavailable()
            }
            Self::Storage(err @ StorageError::Unavailable(_)) => {
                tracing::warn!(error.chain = %userhub_telemetry::error_chain(&err), "database unavailable: answering 503");
                unavailable()
            }
            Self::Storage(err) => internal(&err),
            Self::Hash(err) => internal(&err),
        }
    }
}

/// Logs `err` with its whole source chain (the current span carries the
/// request id) and answers an opaque 500.
pub fn internal(err: &(dyn std::error::Error + 'static)) -> Response {
    let chain = userhub_telemetry::error_chain(err);
    tracing::error!(error.chain = %chain, "request failed with an internal error");
    let mut response = (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "detail": "Internal Server Error" })),
    )
        .into_response();
    response.extensions_mut().insert(InternalErrorMarker);
    response
}

/// 503 with `Retry-After: 1`: the database is momentarily out of reach
/// (pool exhausted, connection lost, server restarting). Clients retry.
fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
        Json(json!({ "detail": "Service temporarily overloaded, retry shortly" })),
    )
        .into_response()
}
