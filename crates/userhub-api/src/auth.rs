//! Authentication extractors: [`CurrentUser`] (a valid bearer token of an
//! existing, active user) and [`Superuser`].

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use userhub_core::User;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated, active caller.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

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
        let user_id = state
            .tokens
            .verify_access(token)
            .map_err(|_| ApiError::InvalidToken)?;
        let user = state
            .db
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("User not found"))?;
        if !user.is_active {
            return Err(ApiError::bad_request("Inactive user"));
        }
        tracing::Span::current().record("enduser.id", tracing::field::display(user.id));
        userhub_telemetry::record_user_id(user.id);
        let current = CurrentUser(user);
        parts.extensions.insert(current.clone());
        Ok(current)
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
