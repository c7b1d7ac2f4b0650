//! The CSRF check of every form post.

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::Method;

use crate::error_page;
use crate::session::Session;

/// Largest form body accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Rejects a POST whose form's `csrf` field is not the session's token.
pub async fn csrf_layer(session: Session, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return error_page::render(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "Form too large",
            "That form was too large to process.",
        )
        .into_response();
    };
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| fields.into_iter().find(|(k, _)| k == "csrf"))
        .map(|(_, v)| v);
    match token {
        Some(token) if session.csrf_matches(&token) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => {
            tracing::warn!(path = %parts.uri.path(), "form rejected: CSRF token missing or wrong");
            error_page::render(
                http::StatusCode::FORBIDDEN,
                "Form expired",
                "This form has expired or did not come from this site. Please go back, reload the page and try again.",
            )
            .into_response()
        }
    }
}
