//! Development-only routes (mounted only when `ENVIRONMENT=development`).

use axum::Json;
use axum::extract::State;
use tracing::instrument;
use userhub_contract::{self as contract, ErrorDetail, HTTPValidationError, UserPublic};
use utoipa_axum::routes;

use crate::accounts;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::models::{PrivateUserCreate, user_public};
use crate::routes::contract_routes::ContractRoutes;
use crate::state::AppState;

pub fn routes() -> ContractRoutes {
    ContractRoutes::default().routes(routes!(create_user))
}

/// Create a new user (development only).
#[utoipa::path(post, path = "/api/v1/private/users/", tag = "private", operation_id = "private-create_user",
    request_body = contract::PrivateUserCreate,
    responses((status = 200, body = UserPublic), (status = 400, body = ErrorDetail), (status = 422, body = HTTPValidationError)))]
#[instrument(skip_all)]
pub async fn create_user(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PrivateUserCreate>,
) -> Result<Json<UserPublic>, ApiError> {
    let user = accounts::sign_up(&state, body.email, &body.password, Some(body.full_name)).await?;
    Ok(Json(user_public(user)))
}
