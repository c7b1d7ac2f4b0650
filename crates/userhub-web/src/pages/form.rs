//! The flow every form post follows: call the API; on success go on
//! (usually a redirect with a flash message); when the input is refused,
//! show the same form again with the refusal inline.

use std::future::Future;

use askama::Template;
use axum::response::Response;
use http::StatusCode;

use super::WebError;
use crate::api::ApiError;
use crate::views::render;

const PASSWORDS_DIFFER: &str = "The passwords do not match";

/// Posts a form: `call`'s answer goes to `on_ok`; a refusal (the API's
/// message for the user) re-renders the form `on_err` builds around it,
/// with status 400; any other failure is the handler's error.
pub async fn submit<T, P: Template>(
    call: impl Future<Output = Result<T, ApiError>>,
    on_ok: impl FnOnce(T) -> Response,
    on_err: impl FnOnce(String) -> P,
) -> Result<Response, WebError> {
    submit_as(StatusCode::BAD_REQUEST, call, on_ok, on_err).await
}

/// [`submit`], answering a refusal with `status`.
pub async fn submit_as<T, P: Template>(
    status: StatusCode,
    call: impl Future<Output = Result<T, ApiError>>,
    on_ok: impl FnOnce(T) -> Response,
    on_err: impl FnOnce(String) -> P,
) -> Result<Response, WebError> {
    match call.await {
        Ok(answer) => Ok(on_ok(answer)),
        Err(ApiError::Rejected { detail, .. }) => Ok(render(status, &on_err(detail))),
        Err(other) => Err(WebError::Api(other)),
    }
}

/// `call`, made only when the password typed twice matches; else the form
/// is refused here, without asking the API.
pub async fn if_confirmed<T>(
    password: &str,
    confirm: &str,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    if password != confirm {
        return Err(ApiError::Rejected {
            status: StatusCode::BAD_REQUEST,
            detail: PASSWORDS_DIFFER.to_owned(),
        });
    }
    call.await
}

/// A page as first shown, before anything is posted.
pub fn show(page: &impl Template) -> Result<Response, WebError> {
    Ok(render(StatusCode::OK, page))
}
