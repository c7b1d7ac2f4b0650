//! Development-only routes (mounted only when `ENVIRONMENT=development`).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use tracing::instrument;
use userhub_core::NewUser;

use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::models::{ErrorDetail, HTTPValidationError, PrivateUserCreate, UserPublic};
use crate::routes::users::insert_user;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/private/users", post(create_user))
}

/// Create a new user (development only).
#[utoipa::path(post, path = "/api/v1/private/users/", tag = "private", operation_id = "private-create_user",
    request_body = PrivateUserCreate,
    responses((status = 200, body = UserPublic), (status = 400, body = ErrorDetail), (status = 422, body = HTTPValidationError)))]
#[instrument(skip_all)]
pub async fn create_user(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PrivateUserCreate>,
) -> Result<Json<UserPublic>, ApiError> {
    const EXISTS: &str = "The user with this email already exists in the system";
    if state.db.user_by_email(body.email.as_str()).await?.is_some() {
        return Err(ApiError::bad_request(EXISTS));
    }
    let hashed_password = state.hasher.hash(body.password.expose()).await?;
    let new = NewUser {
        email: body.email,
        is_active: true,
        is_superuser: false,
        full_name: Some(body.full_name),
        hashed_password,
    };
    Ok(Json(
        insert_user(&state, new, ApiError::bad_request(EXISTS))
            .await?
            .into(),
    ))
}
