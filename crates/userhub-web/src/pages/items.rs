//! Items: paginated list, create, edit, delete with confirmation.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::form::{Deletion, show, submit};
use super::records::{Listing, find};
use super::{Authed, PageQuery, WebError, parse_id};
use crate::state::WebState;
use crate::views::{ItemFormPage, ItemsPage};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ItemForm {
    title: String,
    description: String,
}

pub async fn list(
    State(state): State<WebState>,
    authed: Authed,
    Query(query): Query<PageQuery>,
) -> Result<Response, WebError> {
    let listing = Listing::new("/items", &query, state.settings.page_size);
    let items = state
        .api
        .items(authed.caller(), listing.skip(), listing.limit())
        .await?;
    listing.show(items.data.is_empty(), items.count, |pager| ItemsPage {
        ctx: authed.ctx("Items", "items"),
        items: items.data,
        count: items.count,
        pager,
    })
}

fn form_page(
    authed: &Authed,
    editing: Option<&Uuid>,
    title: &str,
    description: &str,
    error: Option<String>,
) -> ItemFormPage {
    let (heading, action) = match editing {
        Some(id) => ("Edit item", format!("/items/{id}")),
        None => ("Add item", "/items".to_owned()),
    };
    ItemFormPage {
        ctx: authed.ctx(heading, "items"),
        heading,
        action,
        submit: "Save",
        title: title.to_owned(),
        description: description.to_owned(),
        error,
    }
}

pub async fn new_page(authed: Authed) -> Result<Response, WebError> {
    show(&form_page(&authed, None, "", "", None))
}

pub async fn create(
    State(state): State<WebState>,
    authed: Authed,
    Form(form): Form<ItemForm>,
) -> Result<Response, WebError> {
    submit(
        state
            .api
            .create_item(authed.caller(), form.title.trim(), &form.description),
        |_| authed.done("/items", "Item created successfully."),
        |error| form_page(&authed, None, &form.title, &form.description, Some(error)),
    )
    .await
}

pub async fn edit_page(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (id, item) = find(&id, async |id| state.api.item(authed.caller(), id).await).await?;
    show(&form_page(
        &authed,
        Some(&id),
        &item.title,
        item.description.as_deref().unwrap_or_default(),
        None,
    ))
}

pub async fn update(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<ItemForm>,
) -> Result<Response, WebError> {
    let id = parse_id(&id)?;
    let title = form.title.trim();
    submit(
        state
            .api
            .update_item(authed.caller(), &id, title, &form.description),
        |_| authed.done("/items", "Item updated successfully."),
        |error| {
            form_page(
                &authed,
                Some(&id),
                &form.title,
                &form.description,
                Some(error),
            )
        },
    )
    .await
}

/// The deletion of item `id`.
fn deletion(id: &Uuid) -> Deletion {
    Deletion {
        heading: "Delete item",
        nav: "items",
        action: format!("/items/{id}/delete"),
        back: "/items",
    }
}

fn warning(title: &str) -> String {
    format!("The item “{title}” will be permanently deleted. Are you sure?")
}

pub async fn delete_page(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (id, item) = find(&id, async |id| state.api.item(authed.caller(), id).await).await?;
    deletion(&id).ask(&authed, warning(&item.title))
}

pub async fn delete(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id)?;
    let call = state.api.delete_item(authed.caller(), &id);
    deletion(&id).confirmed(&authed, call).await
}
