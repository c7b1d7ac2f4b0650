//! Login, token test, password recovery and reset.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tracing::{Instrument, instrument, warn};
use userhub_core::security::Verification;
use userhub_core::{User, UserPatch};
use userhub_telemetry::LoginOutcome;

use crate::auth::{CurrentUser, Superuser};
use crate::email::{EmailContent, templates};
use crate::error::ApiError;
use crate::extract::{JsonBody, LoginForm, client_ip};
use crate::models::{
    BodyLoginLoginAccessToken, ErrorDetail, HTTPValidationError, Message, NewPassword, Token,
    UserPublic,
};
use crate::state::AppState;

pub const RECOVERY_MESSAGE: &str = "If that email is registered, we sent a password recovery link";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login/access-token", post(login_access_token))
        .route("/login/test-token", post(test_token))
        .route("/password-recovery/{email}", post(recover_password))
        .route("/reset-password", post(reset_password))
        .route(
            "/password-recovery-html-content/{email}",
            post(recover_password_html_content),
        )
}

fn throttle_ip(state: &AppState, parts: &Parts, endpoint: &'static str) -> Result<(), ApiError> {
    let ip = client_ip(parts, &state.settings.server.trusted_proxies);
    state.limiter.check_ip(ip).map_err(|retry| {
        state.metrics.record_rate_limited(endpoint);
        ApiError::RateLimited {
            retry_after_secs: retry.0,
        }
    })
}

/// The recovery email for `user`, linking to the UI's reset page with a
/// fresh reset token.
fn recovery_email(state: &AppState, user: &User) -> EmailContent {
    let token = state.tokens.issue_reset(user.email.as_str());
    let link = format!(
        "{}/reset-password?token={token}",
        state.settings.frontend_host
    );
    templates::password_recovery(
        &state.settings.project_name,
        user.email.as_str(),
        &link,
        state.settings.email_reset_token_expire_hours,
    )
}

/// OAuth2 compatible token login, get an access token for future requests.
#[utoipa::path(post, path = "/api/v1/login/access-token", tag = "login", operation_id = "login-login_access_token",
    request_body(content = BodyLoginLoginAccessToken, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Token), (status = 400, body = ErrorDetail), (status = 422, body = HTTPValidationError), (status = 429, body = ErrorDetail)))]
#[instrument(skip_all, fields(enduser.id))]
pub async fn login_access_token(
    State(state): State<AppState>,
    parts: Parts,
    form: LoginForm,
) -> Result<Json<Token>, ApiError> {
    let limited = |retry: crate::rate_limit::RetryAfter| {
        state.metrics.record_login(LoginOutcome::RateLimited);
        ApiError::RateLimited {
            retry_after_secs: retry.0,
        }
    };
    throttle_ip(&state, &parts, "login")
        .inspect_err(|_| state.metrics.record_login(LoginOutcome::RateLimited))?;
    state.limiter.check_account(&form.username).map_err(|r| {
        state.metrics.record_rate_limited("login");
        limited(r)
    })?;
    let incorrect = || {
        state.limiter.record_failure(&form.username);
        state.metrics.record_login(LoginOutcome::BadCredentials);
        ApiError::bad_request("Incorrect email or password")
    };
    let Some(user) = state.db.user_by_email(&form.username).await? else {
        state.hasher.verify_dummy(&form.password).await?;
        return Err(incorrect());
    };
    let rehash = match state
        .hasher
        .verify(&form.password, &user.hashed_password)
        .await?
    {
        Verification::Invalid => return Err(incorrect()),
        Verification::Valid { rehash } => rehash,
    };
    tracing::Span::current().record("enduser.id", tracing::field::display(user.id));
    if rehash {
        let hashed_password = state.hasher.hash(&form.password).await?;
        state
            .db
            .update_user(
                user.id,
                UserPatch {
                    hashed_password: Some(hashed_password),
                    ..UserPatch::default()
                },
            )
            .await?;
        tracing::info!(user.id = %user.id, "password hash upgraded to argon2id");
    }
    if !user.is_active {
        state.metrics.record_login(LoginOutcome::Inactive);
        return Err(ApiError::bad_request("Inactive user"));
    }
    state.limiter.clear(&form.username);
    state.metrics.record_login(LoginOutcome::Success);
    Ok(Json(Token {
        access_token: state.tokens.issue_access(user.id),
        token_type: "bearer".to_owned(),
    }))
}

/// Test access token.
#[utoipa::path(post, path = "/api/v1/login/test-token", tag = "login", operation_id = "login-test_token",
    responses((status = 200, body = UserPublic), (status = 401, body = ErrorDetail)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn test_token(CurrentUser(user): CurrentUser) -> Json<UserPublic> {
    Json(user.into())
}

/// Password Recovery. Answers the same whether or not the email is known;
/// the lookup and the email run after the answer, so timing tells nothing.
#[utoipa::path(post, path = "/api/v1/password-recovery/{email}", tag = "login", operation_id = "login-recover_password",
    params(("email" = String, Path)),
    responses((status = 200, body = Message), (status = 429, body = ErrorDetail)))]
#[instrument(skip_all)]
pub async fn recover_password(
    State(state): State<AppState>,
    parts: Parts,
    Path(email): Path<String>,
) -> Result<Json<Message>, ApiError> {
    throttle_ip(&state, &parts, "password_recovery")?;
    let task_state = state.clone();
    tokio::spawn(
        async move {
            let user = match task_state.db.user_by_email(&email).await {
                Ok(Some(user)) => user,
                Ok(None) => return,
                Err(e) => {
                    warn!(error = %e, "password recovery lookup failed");
                    return;
                }
            };
            let content = recovery_email(&task_state, &user);
            let _ = task_state
                .mailer
                .send("password_recovery", user.email.as_str(), content)
                .await;
        }
        .in_current_span(),
    );
    Ok(Json(Message::new(RECOVERY_MESSAGE)))
}

/// Reset password.
#[utoipa::path(post, path = "/api/v1/reset-password/", tag = "login", operation_id = "login-reset_password",
    request_body = NewPassword,
    responses((status = 200, body = Message), (status = 400, body = ErrorDetail), (status = 422, body = HTTPValidationError)))]
#[instrument(skip_all)]
pub async fn reset_password(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewPassword>,
) -> Result<Json<Message>, ApiError> {
    let email = state
        .tokens
        .verify_reset(&body.token)
        .map_err(|_| ApiError::bad_request("Invalid token"))?;
    let user = state
        .db
        .user_by_email(&email)
        .await?
        .ok_or_else(|| ApiError::bad_request("Invalid token"))?;
    if !user.is_active {
        return Err(ApiError::bad_request("Inactive user"));
    }
    let hashed_password = state.hasher.hash(body.new_password.expose()).await?;
    state
        .db
        .update_user(
            user.id,
            UserPatch {
                hashed_password: Some(hashed_password),
                ..UserPatch::default()
            },
        )
        .await?;
    Ok(Json(Message::new("Password updated successfully")))
}

/// HTML Content for Password Recovery.
#[utoipa::path(post, path = "/api/v1/password-recovery-html-content/{email}", tag = "login",
    operation_id = "login-recover_password_html_content",
    params(("email" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = ErrorDetail)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn recover_password_html_content(
    _admin: Superuser,
    State(state): State<AppState>,
    Path(email): Path<String>,
) -> Result<Response, ApiError> {
    let user = state.db.user_by_email(&email).await?.ok_or_else(|| {
        ApiError::not_found("The user with this username does not exist in the system.")
    })?;
    let content = recovery_email(&state, &user);
    let subject = HeaderValue::from_str(&content.subject)
        .unwrap_or_else(|_| HeaderValue::from_static("Password recovery"));
    Ok((
        StatusCode::OK,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (HeaderName::from_static("subject"), subject),
        ],
        content.html,
    )
        .into_response())
}
