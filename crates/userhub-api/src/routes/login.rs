//! Login, token test, password recovery and reset.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tracing::{Instrument, instrument, warn};
use userhub_contract::{
    self as contract, BodyLoginLoginAccessToken, ErrorDetail, HTTPValidationError, Message, Token,
    UserPublic,
};
use userhub_core::security::Verification;
use userhub_core::{User, UserId, UserPatch, canonical_email};
use userhub_storage::LoginReservation;
use userhub_telemetry::LoginOutcome;
use utoipa_axum::routes;

use crate::audit::{Action, Audit, ClientAddr};
use crate::auth::{BearerToken, CurrentUser, Superuser};
use crate::email::{EmailContent, templates};
use crate::error::ApiError;
use crate::extract::{JsonBody, LoginForm, client_ip};
use crate::models::{NewPassword, user_public};
use crate::routes::contract_routes::ContractRoutes;
use crate::state::AppState;

pub const RECOVERY_MESSAGE: &str = "If that email is registered, we sent a password recovery link";

pub fn routes() -> ContractRoutes {
    ContractRoutes::default()
        .routes(routes!(login_access_token))
        .routes(routes!(test_token))
        .undocumented("/api/v1/logout", post(logout))
        .routes(routes!(recover_password))
        .routes(routes!(reset_password))
        .routes(routes!(recover_password_html_content))
}

pub(crate) fn throttle_ip(
    state: &AppState,
    parts: &Parts,
    endpoint: &'static str,
) -> Result<(), ApiError> {
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
    let client = client_ip(&parts, &state.settings.server.trusted_proxies);
    throttle_ip(&state, &parts, "login")
        .inspect_err(|_| state.metrics.record_login(LoginOutcome::RateLimited))?;
    let incorrect = |target: Option<UserId>, reason: &'static str| {
        let mut event = Audit::new(Action::Login, "failure", client).reason(reason);
        if let Some(id) = target {
            event = event.target(id);
        }
        event.emit();
        state.metrics.record_login(LoginOutcome::BadCredentials);
        ApiError::bad_request("Incorrect email or password")
    };
    let Some(user) = state.db.user_by_email(&form.username).await? else {
        // Same cost as a known account; nothing to lock (no account).
        state.hasher.verify_dummy(&form.password).await?;
        return Err(incorrect(None, "unknown_account"));
    };
    // The attempt is counted before the hash runs and whatever its outcome,
    // in the database: concurrent attempts and other replicas see it.
    let limits = &state.settings.rate_limit;
    let window_micros = i64::try_from(limits.login_failure_window.as_micros()).unwrap_or(i64::MAX);
    let (slot, window_start_micros) = match state
        .db
        .reserve_login_attempt(user.id, limits.login_max_failures, window_micros)
        .await?
    {
        LoginReservation::Reserved {
            slot,
            window_start_micros,
        } => (slot, window_start_micros),
        LoginReservation::Locked { retry_after_micros } => {
            Audit::new(Action::Lockout, "denied", client)
                .target(user.id)
                .reason("too_many_attempts")
                .emit();
            state.metrics.record_rate_limited("login");
            state.metrics.record_login(LoginOutcome::RateLimited);
            return Err(ApiError::RateLimited {
                retry_after_secs: u64::try_from(retry_after_micros.max(0))
                    .map(|m| m.div_ceil(1_000_000))
                    .unwrap_or(1)
                    .max(1),
            });
        }
    };
    let rehash = match state
        .hasher
        .verify(&form.password, &user.hashed_password)
        .await?
    {
        Verification::Invalid => {
            if slot >= limits.login_max_failures {
                Audit::new(Action::Lockout, "locked", client)
                    .target(user.id)
                    .reason("too_many_attempts")
                    .emit();
            }
            return Err(incorrect(Some(user.id), "bad_credentials"));
        }
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
        Audit::new(Action::Login, "failure", client)
            .target(user.id)
            .reason("inactive")
            .emit();
        state.metrics.record_login(LoginOutcome::Inactive);
        return Err(ApiError::bad_request("Inactive user"));
    }
    state
        .db
        .release_login_attempt(
            user.id,
            slot,
            window_start_micros,
            limits.login_max_failures,
        )
        .await?;
    Audit::new(Action::Login, "success", client)
        .actor(user.id)
        .target(user.id)
        .emit();
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
    Json(user_public(user))
}

/// Log out: revokes the bearer token until it expires (every replica
/// refuses it from now on). A Userhub extension used by the web UI; not
/// part of the reference's contract, so not in the OpenAPI document.
#[instrument(skip_all)]
pub async fn logout(
    CurrentUser(me): CurrentUser,
    BearerToken(token): BearerToken,
    ClientAddr(client): ClientAddr,
    State(state): State<AppState>,
) -> Result<Json<Message>, ApiError> {
    state
        .db
        .revoke_token(&token.fingerprint, me.id, token.expires_at_micros)
        .await?;
    Audit::new(Action::TokenRevoked, "success", client)
        .actor(me.id)
        .target(me.id)
        .reason("logout")
        .emit();
    Ok(Json(Message::new("Logged out")))
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
            // Per recipient, known or not, before the lookup: the answer
            // (already sent) is the same either way.
            if email.len() > 1024
                || task_state
                    .limiter
                    .check_recipient(&canonical_email(&email))
                    .is_err()
            {
                task_state
                    .metrics
                    .record_rate_limited("password_recovery_recipient");
                tracing::info!("password recovery email throttled for this recipient");
                return;
            }
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
    request_body = contract::NewPassword,
    responses((status = 200, body = Message), (status = 400, body = ErrorDetail), (status = 422, body = HTTPValidationError)))]
#[instrument(skip_all)]
pub async fn reset_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<NewPassword>,
) -> Result<Json<Message>, ApiError> {
    let invalid = |target: Option<UserId>, reason: &'static str| {
        let mut event = Audit::new(Action::PasswordReset, "failure", client).reason(reason);
        if let Some(id) = target {
            event = event.target(id);
        }
        event.emit();
        ApiError::bad_request("Invalid token")
    };
    let token = state
        .tokens
        .verify_reset_token(&body.token)
        .map_err(|_| invalid(None, "invalid_token"))?;
    let user = state
        .db
        .user_by_email(&token.email)
        .await?
        .ok_or_else(|| invalid(None, "unknown_account"))?;
    if !reset_token_fits(&user, token.issued_at_micros) {
        return Err(invalid(Some(user.id), "stale_token"));
    }
    if !user.is_active {
        return Err(ApiError::bad_request("Inactive user"));
    }
    let hashed_password = state.hasher.hash(body.new_password.expose()).await?;
    // Compare-and-set: a token is spent by the first reset that uses it,
    // even when two replicas race.
    if !state
        .db
        .reset_password(user.id, &hashed_password, token.issued_at_micros)
        .await?
    {
        return Err(invalid(Some(user.id), "stale_token"));
    }
    Audit::new(Action::PasswordReset, "success", client)
        .target(user.id)
        .emit();
    Audit::new(Action::TokenRevoked, "success", client)
        .target(user.id)
        .reason("password_reset")
        .emit();
    Ok(Json(Message::new("Password updated successfully")))
}

/// Whether a reset token issued at `issued_at_micros` may still change the
/// password of `user`: issued after the account was created (to the second:
/// the reference dates its tokens in whole seconds), and after the last
/// password and email change (so it is single-use and does not follow an
/// email to a new owner).
fn reset_token_fits(user: &User, issued_at_micros: i64) -> bool {
    let issued_secs = issued_at_micros.div_euclid(1_000_000);
    let after_creation = user
        .created_at
        .is_none_or(|created| created.timestamp() <= issued_secs);
    let after = |changed: Option<i64>| changed.is_none_or(|c| c < issued_at_micros);
    after_creation && after(user.password_changed_at_micros) && after(user.email_changed_at_micros)
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
