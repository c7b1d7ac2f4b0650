//! Authentication extractors: [`CurrentUser`] (a valid, unrevoked bearer
//! token of an existing, active user), [`Superuser`] and [`BearerToken`]
//! (the verified token itself).
//!
//! Revocation is decided by what the database knows, so it holds for tokens
//! minted by the reference with the same key and across replicas: a token
//! issued before the account's last password change is void unless it is
//! the one that made the change, and a token logged out is void until it
//! expires.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use userhub_core::User;
use userhub_core::security::VerifiedAccess;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated, active caller.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// The verified bearer token of the authenticated caller.
#[derive(Debug, Clone)]
pub struct BearerToken(pub VerifiedAccess);

/// Whether `token` was revoked by a password change or reset of `user`.
pub fn revoked_by_password_change(user: &User, token: &VerifiedAccess) -> bool {
    match user.password_changed_at_micros {
        Some(changed) if token.issued_at_micros < changed => {
            user.token_exempt.as_deref() != Some(token.fingerprint.as_str())
        }
        _ => false,
    }
}

/// The authenticated caller, who is a superuser.
#[derive(Debug, Clone)]
pub struct Superuser(pub User);

/// The token in `Authorization: Bearer <token>`, or why there is none.
fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(ApiError::NotAuthenticated)?;
    let value = header.to_str().map_err(|_| ApiError::NotAuthenticated)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(ApiError::NotAuthenticated)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::NotAuthenticated);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::NotAuthenticated);
    }
    Ok(token)
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let token = bearer_token(parts)?;
        let verified = state
            .tokens
            .verify_access_token(token)
            .map_err(|_| ApiError::InvalidToken)?;
        let (user, revoked) = state
            .db
            .user_for_token(verified.user_id, &verified.fingerprint)
            .await?
            .ok_or_else(|| ApiError::not_found("User not found"))?;
        if revoked || revoked_by_password_change(&user, &verified) {
            return Err(ApiError::InvalidToken);
        }
        if !user.is_active {
            return Err(ApiError::bad_request("Inactive user"));
        }
        tracing::Span::current().record("enduser.id", tracing::field::display(user.id));
        userhub_telemetry::record_user_id(user.id);
        let current = CurrentUser(user);
        parts.extensions.insert(current.clone());
        parts.extensions.insert(BearerToken(verified));
        Ok(current)
    }
}

impl FromRequestParts<AppState> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        CurrentUser::from_request_parts(parts, state).await?;
        parts
            .extensions
            .get::<BearerToken>()
            .cloned()
            .ok_or(ApiError::InvalidToken)
    }
}

impl FromRequestParts<AppState> for Superuser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if !user.is_superuser {
            return Err(ApiError::forbidden(
                "The user doesn't have enough privileges",
            ));
        }
        Ok(Superuser(user))
    }
}
