//! User management: self-service (`/users/me`, signup) and superuser admin.

use axum::Json;
use axum::extract::State;
use tracing::{Instrument, instrument};
use userhub_contract::{
    self as contract, ErrorDetail, HTTPValidationError, Message, UserPublic, UsersPublic,
};
use userhub_core::security::Verification;
use userhub_core::{UserId, UserPatch};
use userhub_storage::{Constraint, StorageError};
use utoipa_axum::routes;

use crate::accounts::{self, NewAccount};
use crate::audit::{Action, Audit, ClientAddr};
use crate::auth::{BearerToken, CurrentUser, Superuser};
use crate::email::templates;
use crate::error::ApiError;
use crate::extract::{JsonBody, Pagination, PathId, UserIdParam};
use crate::models::{
    UpdatePassword, UserCreate, UserRegister, UserUpdate, UserUpdateMe, user_public,
};
use crate::routes::contract_routes::ContractRoutes;
use crate::state::AppState;

pub fn routes() -> ContractRoutes {
    ContractRoutes::default()
        .routes(routes!(read_users, create_user))
        .routes(routes!(read_user_me, update_user_me, delete_user_me))
        .routes(routes!(update_password_me))
        .routes(routes!(register_user))
        .routes(routes!(read_user_by_id, update_user, delete_user))
}

/// Retrieve users.
#[utoipa::path(get, path = "/api/v1/users/", tag = "users", operation_id = "users-read_users",
    params(("skip" = Option<i64>, Query, minimum = 0), ("limit" = Option<i64>, Query, minimum = 0, maximum = 1000)),
    responses((status = 200, body = UsersPublic), (status = 403, body = ErrorDetail), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn read_users(
    _admin: Superuser,
    State(state): State<AppState>,
    Pagination(page): Pagination,
) -> Result<Json<UsersPublic>, ApiError> {
    let page = state.db.list_users(page).await?;
    Ok(Json(UsersPublic {
        data: page.data.into_iter().map(user_public).collect(),
        count: page.count,
    }))
}

/// Create new user.
#[utoipa::path(post, path = "/api/v1/users/", tag = "users", operation_id = "users-create_user", request_body = contract::UserCreate,
    responses((status = 200, body = UserPublic), (status = 400, body = ErrorDetail), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn create_user(
    Superuser(admin): Superuser,
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<UserCreate>,
) -> Result<Json<UserPublic>, ApiError> {
    let account = NewAccount {
        email: body.email,
        password: body.password.expose(),
        full_name: body.full_name,
        is_active: body.is_active,
        is_superuser: body.is_superuser,
    };
    let taken = "The user with this email already exists in the system.";
    let user = accounts::add(&state, account, taken).await?;
    Audit::new(Action::UserCreated, "success", client)
        .actor(admin.id)
        .target(user.id)
        .reason(if user.is_superuser { "superuser" } else { "" })
        .emit();
    if state.mailer.enabled() {
        let mailer = state.mailer.clone();
        let email = user.email.as_str().to_owned();
        let content =
            templates::new_account(mailer.project_name(), &email, &state.settings.frontend_host);
        tokio::spawn(
            async move { mailer.send("new_account", &email, content).await }.in_current_span(),
        );
    }
    Ok(Json(user_public(user)))
}

/// Get current user.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", operation_id = "users-read_user_me",
    responses((status = 200, body = UserPublic), (status = 401, body = ErrorDetail)), security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn read_user_me(CurrentUser(user): CurrentUser) -> Json<UserPublic> {
    Json(user_public(user))
}

/// Update own user.
#[utoipa::path(patch, path = "/api/v1/users/me", tag = "users", operation_id = "users-update_user_me", request_body = contract::UserUpdateMe,
    responses((status = 200, body = UserPublic), (status = 409, body = ErrorDetail), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn update_user_me(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<UserUpdateMe>,
) -> Result<Json<UserPublic>, ApiError> {
    const CONFLICT: &str = "User with this email already exists";
    if let Some(email) = &body.email
        && let Some(existing) = state.db.user_by_email(email.as_str()).await?
        && existing.id != me.id
    {
        return Err(ApiError::conflict(CONFLICT));
    }
    let patch = UserPatch {
        email: body.email,
        full_name: body.full_name,
        ..UserPatch::default()
    };
    apply_patch(&state, me.id, patch, CONFLICT).await.map(Json)
}

async fn apply_patch(
    state: &AppState,
    id: UserId,
    patch: UserPatch,
    conflict: &'static str,
) -> Result<UserPublic, ApiError> {
    match state.db.update_user(id, patch).await {
        Ok(Some(user)) => Ok(user_public(user)),
        Ok(None) => Err(ApiError::not_found(
            "The user with this id does not exist in the system",
        )),
        Err(StorageError::Conflict(Constraint::UserEmail)) => Err(ApiError::conflict(conflict)),
        Err(e) => Err(e.into()),
    }
}

/// Update own password.
#[utoipa::path(patch, path = "/api/v1/users/me/password", tag = "users", operation_id = "users-update_password_me",
    request_body = contract::UpdatePassword,
    responses((status = 200, body = Message), (status = 400, body = ErrorDetail), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn update_password_me(
    CurrentUser(me): CurrentUser,
    BearerToken(token): BearerToken,
    ClientAddr(client): ClientAddr,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<UpdatePassword>,
) -> Result<Json<Message>, ApiError> {
    if state
        .hasher
        .verify(body.current_password.expose(), &me.hashed_password)
        .await?
        == Verification::Invalid
    {
        Audit::new(Action::PasswordChange, "failure", client)
            .actor(me.id)
            .target(me.id)
            .reason("bad_credentials")
            .emit();
        return Err(ApiError::bad_request("Incorrect password"));
    }
    if body.current_password == body.new_password {
        return Err(ApiError::bad_request(
            "New password cannot be the same as the current one",
        ));
    }
    let hashed_password = state.hasher.hash(body.new_password.expose()).await?;
    // Every earlier token is revoked except the one that made the change
    // (the reference's frontend keeps using it).
    state
        .db
        .update_user(
            me.id,
            UserPatch {
                hashed_password: Some(hashed_password),
                password_changed: Some(Some(token.fingerprint)),
                ..UserPatch::default()
            },
        )
        .await?;
    Audit::new(Action::PasswordChange, "success", client)
        .actor(me.id)
        .target(me.id)
        .emit();
    Audit::new(Action::TokenRevoked, "success", client)
        .actor(me.id)
        .target(me.id)
        .reason("password_change")
        .emit();
    Ok(Json(Message::new("Password updated successfully")))
}

/// Delete own user.
#[utoipa::path(delete, path = "/api/v1/users/me", tag = "users", operation_id = "users-delete_user_me",
    responses((status = 200, body = Message), (status = 403, body = ErrorDetail)), security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn delete_user_me(
    CurrentUser(me): CurrentUser,
    ClientAddr(client): ClientAddr,
    State(state): State<AppState>,
) -> Result<Json<Message>, ApiError> {
    if me.is_superuser {
        return Err(ApiError::forbidden(
            "Super users are not allowed to delete themselves",
        ));
    }
    accounts::delete(&state, me.id).await?;
    Audit::new(Action::UserDeleted, "success", client)
        .actor(me.id)
        .target(me.id)
        .emit();
    Ok(Json(Message::new("User deleted successfully")))
}

/// Create new user without the need to be logged in.
#[utoipa::path(post, path = "/api/v1/users/signup", tag = "users", operation_id = "users-register_user", request_body = contract::UserRegister,
    responses((status = 200, body = UserPublic), (status = 400, body = ErrorDetail), (status = 422, body = HTTPValidationError)))]
#[instrument(skip_all)]
pub async fn register_user(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    JsonBody(body): JsonBody<UserRegister>,
) -> Result<Json<UserPublic>, ApiError> {
    crate::routes::login::throttle_ip(&state, &parts, "signup")?;
    let client = crate::extract::client_ip(&parts, &state.settings.server.trusted_proxies);
    let user = accounts::sign_up(&state, body.email, &body.password, body.full_name).await?;
    Audit::new(Action::UserCreated, "success", client)
        .actor(user.id)
        .target(user.id)
        .reason("signup")
        .emit();
    Ok(Json(user_public(user)))
}

/// Get a specific user by id.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users", operation_id = "users-read_user_by_id",
    params(("user_id" = uuid::Uuid, Path)),
    responses((status = 200, body = UserPublic), (status = 403, body = ErrorDetail), (status = 404, body = ErrorDetail), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn read_user_by_id(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    PathId(id, ..): PathId<UserIdParam>,
) -> Result<Json<UserPublic>, ApiError> {
    if id == me.id {
        return Ok(Json(user_public(me)));
    }
    if !me.is_superuser {
        return Err(ApiError::forbidden(
            "The user doesn't have enough privileges",
        ));
    }
    let user = state
        .db
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("User not found"))?;
    Ok(Json(user_public(user)))
}

/// Update a user.
#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "users", operation_id = "users-update_user",
    params(("user_id" = uuid::Uuid, Path)), request_body = contract::UserUpdate,
    responses((status = 200, body = UserPublic), (status = 404, body = ErrorDetail), (status = 409, body = ErrorDetail), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn update_user(
    Superuser(admin): Superuser,
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    PathId(id, ..): PathId<UserIdParam>,
    JsonBody(body): JsonBody<UserUpdate>,
) -> Result<Json<UserPublic>, ApiError> {
    const CONFLICT: &str = "User with this email already exists";
    let Some(before) = state.db.user_by_id(id).await? else {
        return Err(ApiError::not_found(
            "The user with this id does not exist in the system",
        ));
    };
    if let Some(email) = &body.email
        && let Some(existing) = state.db.user_by_email(email.as_str()).await?
        && existing.id != id
    {
        return Err(ApiError::conflict(CONFLICT));
    }
    let hashed_password = match &body.password {
        Some(p) => Some(state.hasher.hash(p.expose()).await?),
        None => None,
    };
    // An administrator setting the password revokes all the user's tokens.
    let password_set = hashed_password.is_some();
    let privileges_changed = body.is_superuser.is_some_and(|s| s != before.is_superuser)
        || body.is_active.is_some_and(|a| a != before.is_active);
    let patch = UserPatch {
        email: body.email,
        is_active: body.is_active,
        is_superuser: body.is_superuser,
        full_name: body.full_name,
        hashed_password,
        password_changed: password_set.then_some(None),
    };
    let updated = apply_patch(&state, id, patch, CONFLICT).await?;
    if privileges_changed {
        Audit::new(Action::PrivilegesChanged, "success", client)
            .actor(admin.id)
            .target(id)
            .reason(match (updated.is_superuser, updated.is_active) {
                (true, true) => "superuser_active",
                (true, false) => "superuser_inactive",
                (false, true) => "user_active",
                (false, false) => "user_inactive",
            })
            .emit();
    }
    if password_set {
        Audit::new(Action::PasswordChange, "success", client)
            .actor(admin.id)
            .target(id)
            .reason("by_admin")
            .emit();
        Audit::new(Action::TokenRevoked, "success", client)
            .actor(admin.id)
            .target(id)
            .reason("password_change")
            .emit();
    }
    Ok(Json(updated))
}

/// Delete a user.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}", tag = "users", operation_id = "users-delete_user",
    params(("user_id" = uuid::Uuid, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorDetail), (status = 404, body = ErrorDetail), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn delete_user(
    Superuser(admin): Superuser,
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    PathId(id, ..): PathId<UserIdParam>,
) -> Result<Json<Message>, ApiError> {
    if state.db.user_by_id(id).await?.is_none() {
        return Err(ApiError::not_found("User not found"));
    }
    if id == admin.id {
        return Err(ApiError::forbidden(
            "Super users are not allowed to delete themselves",
        ));
    }
    accounts::delete(&state, id).await?;
    Audit::new(Action::UserDeleted, "success", client)
        .actor(admin.id)
        .target(id)
        .emit();
    Ok(Json(Message::new("User deleted successfully")))
}
