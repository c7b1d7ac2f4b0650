//! The flow every form post follows: call the API; on success go on
//! (usually a redirect with a flash message); when the input is refused,
//! show the same form again with the refusal inline. A [`Deletion`] is the
//! flow of the delete-with-confirmation pages (items, users).

use std::future::Future;

use askama::Template;
use axum::response::Response;
use http::StatusCode;

use super::{Authed, WebError};
use crate::api::{ApiError, Message};
use crate::views::{ConfirmPage, render};

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

/// A deletion confirmed on its own page (an item, a user): the page that
/// asks, and the list the user goes back to, on cancel and once it is done.
#[derive(Debug)]
pub struct Deletion {
    /// Title and heading of the page, e.g. "Delete item".
    pub heading: &'static str,
    /// The navigation entry shown as current.
    pub nav: &'static str,
    /// Where the confirmation form posts.
    pub action: String,
    /// The list: the cancel link, and where a done deletion lands.
    pub back: &'static str,
}

impl Deletion {
    /// The confirmation page warning with `message`, and a refusal if any.
    pub fn page(&self, authed: &Authed, message: String, error: Option<String>) -> ConfirmPage {
        ConfirmPage {
            ctx: authed.ctx(self.heading, self.nav),
            heading: self.heading.to_owned(),
            message,
            action: self.action.clone(),
            submit: "Delete",
            cancel: self.back.to_owned(),
            error,
        }
    }

    /// The confirmation page as first shown.
    pub fn ask(&self, authed: &Authed, message: String) -> Result<Response, WebError> {
        show(&self.page(authed, message, None))
    }

    /// Deletes with `call`, then back to the list with the API's message as
    /// the flash. A refusal is the handler's error (its error page).
    pub async fn confirmed(
        &self,
        authed: &Authed,
        call: impl Future<Output = Result<Message, ApiError>>,
    ) -> Result<Response, WebError> {
        let done = call.await?;
        Ok(authed.done(self.back, &done.message))
    }

    /// [`Deletion::confirmed`], but a refusal is shown on the confirmation
    /// page (warning with `message`), with status 400, as [`submit`] does.
    pub async fn confirmed_or_shown(
        &self,
        authed: &Authed,
        call: impl Future<Output = Result<Message, ApiError>>,
        message: String,
    ) -> Result<Response, WebError> {
        submit(
            call,
            |done| authed.done(self.back, &done.message),
            |error| self.page(authed, message, Some(error)),
        )
        .await
    }
}
