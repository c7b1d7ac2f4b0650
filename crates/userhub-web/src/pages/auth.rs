//! Log in, log out, sign up, password recovery and reset.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use serde::Deserialize;

use super::{Visit, WebError, done, inline};
use crate::cookie::FlashKind;
use crate::state::WebState;
use crate::views::{LoginPage, RecoverPage, ResetPage, SignupPage, render};

pub const PASSWORDS_DIFFER: &str = "The passwords do not match";

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
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
    match state.api.login(&visit.caller, email, &form.password).await {
        Ok(token) => {
            visit.session.log_in(token.access_token);
            Ok(Redirect::to("/").into_response())
        }
        Err(e) => {
            let error = inline(e)?;
            let ctx = visit.ctx("Log in", "login", None);
            Ok(render(
                StatusCode::BAD_REQUEST,
                &LoginPage {
                    ctx,
                    email: email.to_owned(),
                    error: Some(error),
                },
            ))
        }
    }
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

#[derive(Debug, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
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
    let error = if form.password != form.confirm_password {
        PASSWORDS_DIFFER.to_owned()
    } else {
        match state
            .api
            .signup(&visit.caller, email, &form.password, &form.full_name)
            .await
        {
            Ok(_) => {
                return Ok(done(
                    &visit.session,
                    "/login",
                    "Your account has been created. You can now log in.",
                ));
            }
            Err(e) => inline(e)?,
        }
    };
    let ctx = visit.ctx("Sign up", "signup", None);
    Ok(render(
        StatusCode::BAD_REQUEST,
        &SignupPage {
            ctx,
            email: email.to_owned(),
            full_name: form.full_name,
            error: Some(error),
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct RecoverForm {
    #[serde(default)]
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
    match state.api.recover_password(&visit.caller, email).await {
        Ok(message) => Ok(done(&visit.session, "/recover-password", &message.message)),
        Err(e) => {
            let error = inline(e)?;
            let ctx = visit.ctx("Password recovery", "recover", None);
            Ok(render(
                StatusCode::BAD_REQUEST,
                &RecoverPage {
                    ctx,
                    email: email.to_owned(),
                    error: Some(error),
                },
            ))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ResetQuery {
    #[serde(default)]
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

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn reset(
    State(state): State<WebState>,
    visit: Visit,
    Form(form): Form<ResetForm>,
) -> Result<Response, WebError> {
    let error = if form.new_password != form.confirm_password {
        PASSWORDS_DIFFER.to_owned()
    } else {
        match state
            .api
            .reset_password(&visit.caller, &form.token, &form.new_password)
            .await
        {
            Ok(message) => return Ok(done(&visit.session, "/login", &message.message)),
            Err(e) => inline(e)?,
        }
    };
    let ctx = visit.ctx("Reset password", "reset", None);
    Ok(render(
        StatusCode::BAD_REQUEST,
        &ResetPage {
            ctx,
            token: form.token,
            error: Some(error),
        },
    ))
}
