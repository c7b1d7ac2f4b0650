//! Log in, log out, sign up, password recovery and reset.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use serde::Deserialize;

use super::form::{if_confirmed, submit};
use super::{Visit, WebError};
use crate::cookie::FlashKind;
use crate::state::WebState;
use crate::views::{LoginPage, RecoverPage, ResetPage, SignupPage, render};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
}

pub async fn login_page(visit: Visit) -> Response {
    if visit.caller.token.is_some() {
        return Redirect::to("/").into_response();
    }
    let ctx = visit.ctx("Log in", "login", None);
    render(
        StatusCode::OK,
        &LoginPage {
            ctx,
            email: String::new(),
            error: None,
        },
    )
}

pub async fn login(
    State(state): State<WebState>,
    visit: Visit,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let email = form.email.trim();
    submit(
        state.api.login(&visit.caller, email, &form.password),
        |token| {
            visit.session.log_in(token.access_token);
            Redirect::to("/").into_response()
        },
        |error| LoginPage {
            ctx: visit.ctx("Log in", "login", None),
            email: email.to_owned(),
            error: Some(error),
        },
    )
    .await
}

pub async fn logout(State(state): State<WebState>, visit: Visit) -> Response {
    // Revoke the token server-side first: a copy of the cookie (or the
    // token) replayed after logging out is then refused by every replica.
    if visit.caller.token.is_some()
        && let Err(e) = state.api.logout(&visit.caller).await
    {
        tracing::info!(error = %e, "token revocation at logout failed (token already invalid?)");
    }
    visit.session.log_out(Some(crate::cookie::Flash {
        kind: FlashKind::Info,
        text: "You have been logged out.".to_owned(),
    }));
    Redirect::to("/login").into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignupForm {
    email: String,
    full_name: String,
    password: String,
    confirm_password: String,
}

pub async fn signup_page(visit: Visit) -> Response {
    if visit.caller.token.is_some() {
        return Redirect::to("/").into_response();
    }
    let ctx = visit.ctx("Sign up", "signup", None);
    render(
        StatusCode::OK,
        &SignupPage {
            ctx,
            email: String::new(),
            full_name: String::new(),
            error: None,
        },
    )
}

pub async fn signup(
    State(state): State<WebState>,
    visit: Visit,
    Form(form): Form<SignupForm>,
) -> Result<Response, WebError> {
    let email = form.email.trim();
    let call = state
        .api
        .signup(&visit.caller, email, &form.password, &form.full_name);
    submit(
        if_confirmed(&form.password, &form.confirm_password, call),
        |_| {
            visit.done(
                "/login",
                "Your account has been created. You can now log in.",
            )
        },
        |error| SignupPage {
            ctx: visit.ctx("Sign up", "signup", None),
            email: email.to_owned(),
            full_name: form.full_name.clone(),
            error: Some(error),
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecoverForm {
    email: String,
}

pub async fn recover_page(visit: Visit) -> Response {
    let ctx = visit.ctx("Password recovery", "recover", None);
    render(
        StatusCode::OK,
        &RecoverPage {
            ctx,
            email: String::new(),
            error: None,
        },
    )
}

pub async fn recover(
    State(state): State<WebState>,
    visit: Visit,
    Form(form): Form<RecoverForm>,
) -> Result<Response, WebError> {
    let email = form.email.trim();
    submit(
        state.api.recover_password(&visit.caller, email),
        |message| visit.done("/recover-password", &message.message),
        |error| RecoverPage {
            ctx: visit.ctx("Password recovery", "recover", None),
            email: email.to_owned(),
            error: Some(error),
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetQuery {
    token: String,
}

pub async fn reset_page(visit: Visit, Query(query): Query<ResetQuery>) -> Response {
    let ctx = visit.ctx("Reset password", "reset", None);
    let error = query
        .token
        .is_empty()
        .then(|| "This link has no reset token. Use the link from the recovery email.".to_owned());
    render(
        StatusCode::OK,
        &ResetPage {
            ctx,
            token: query.token,
            error,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetForm {
    token: String,
    new_password: String,
    confirm_password: String,
}

pub async fn reset(
    State(state): State<WebState>,
    visit: Visit,
    Form(form): Form<ResetForm>,
) -> Result<Response, WebError> {
    let call = state
        .api
        .reset_password(&visit.caller, &form.token, &form.new_password);
    submit(
        if_confirmed(&form.new_password, &form.confirm_password, call),
        |message| visit.done("/login", &message.message),
        |error| ResetPage {
            ctx: visit.ctx("Reset password", "reset", None),
            token: form.token.clone(),
            error: Some(error),
        },
    )
    .await
}
