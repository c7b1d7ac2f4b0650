//! Items: owners see and change their own, superusers all.

use axum::Json;
use axum::extract::State;
use tracing::instrument;
use userhub_contract::{
    self as contract, ErrorDetail, HTTPValidationError, ItemPublic, ItemsPublic, Message,
};
use userhub_core::{Item, ItemId, ItemPatch, NewItem, User};
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::{ItemIdParam, JsonBody, Pagination, PathId};
use crate::models::{ItemCreate, ItemUpdate, item_public};
use crate::routes::contract_routes::ContractRoutes;
use crate::state::AppState;

pub fn routes() -> ContractRoutes {
    ContractRoutes::default()
        .routes(routes!(read_items, create_item))
        .routes(routes!(read_item, update_item, delete_item))
}

/// The item `id` if `user` may access it.
async fn accessible_item(state: &AppState, user: &User, id: ItemId) -> Result<Item, ApiError> {
    let item = state
        .db
        .item_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Item not found"))?;
    if !user.can_access(&item) {
        return Err(ApiError::forbidden("Not enough permissions"));
    }
    Ok(item)
}

/// Retrieve items.
#[utoipa::path(get, path = "/api/v1/items/", tag = "items", operation_id = "items-read_items",
    params(("skip" = Option<i64>, Query, minimum = 0), ("limit" = Option<i64>, Query, minimum = 0, maximum = 1000)),
    responses((status = 200, body = ItemsPublic), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn read_items(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    Pagination(page): Pagination,
) -> Result<Json<ItemsPublic>, ApiError> {
    let owner = (!me.is_superuser).then_some(me.id);
    let page = state.db.list_items(owner, page).await?;
    Ok(Json(ItemsPublic {
        data: page.data.into_iter().map(item_public).collect(),
        count: page.count,
    }))
}

/// Create new item.
#[utoipa::path(post, path = "/api/v1/items/", tag = "items", operation_id = "items-create_item", request_body = contract::ItemCreate,
    responses((status = 200, body = ItemPublic), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn create_item(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ItemCreate>,
) -> Result<Json<ItemPublic>, ApiError> {
    let item = state
        .db
        .insert_item(NewItem {
            title: body.title,
            description: body.description,
            owner_id: me.id,
        })
        .await?;
    state.metrics.record_item_created();
    Ok(Json(item_public(item)))
}

/// Get item by ID.
#[utoipa::path(get, path = "/api/v1/items/{id}", tag = "items", operation_id = "items-read_item", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ItemPublic), (status = 403, body = ErrorDetail), (status = 404, body = ErrorDetail), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn read_item(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    PathId(id, ..): PathId<ItemIdParam>,
) -> Result<Json<ItemPublic>, ApiError> {
    Ok(Json(item_public(accessible_item(&state, &me, id).await?)))
}

/// Update an item.
#[utoipa::path(put, path = "/api/v1/items/{id}", tag = "items", operation_id = "items-update_item", params(("id" = uuid::Uuid, Path)),
    request_body = contract::ItemUpdate,
    responses((status = 200, body = ItemPublic), (status = 403, body = ErrorDetail), (status = 404, body = ErrorDetail), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn update_item(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    PathId(id, ..): PathId<ItemIdParam>,
    JsonBody(body): JsonBody<ItemUpdate>,
) -> Result<Json<ItemPublic>, ApiError> {
    accessible_item(&state, &me, id).await?;
    let item = state
        .db
        .update_item(
            id,
            ItemPatch {
                title: body.title,
                description: body.description,
            },
        )
        .await?
        .ok_or_else(|| ApiError::not_found("Item not found"))?;
    Ok(Json(item_public(item)))
}

/// Delete an item.
#[utoipa::path(delete, path = "/api/v1/items/{id}", tag = "items", operation_id = "items-delete_item", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorDetail), (status = 404, body = ErrorDetail), (status = 422, body = HTTPValidationError)),
    security(("OAuth2PasswordBearer" = [])))]
#[instrument(skip_all)]
pub async fn delete_item(
    CurrentUser(me): CurrentUser,
    State(state): State<AppState>,
    PathId(id, ..): PathId<ItemIdParam>,
) -> Result<Json<Message>, ApiError> {
    accessible_item(&state, &me, id).await?;
    if state.db.delete_item(id).await? {
        state.metrics.record_items_deleted(1);
    }
    Ok(Json(Message::new("Item deleted successfully")))
}
