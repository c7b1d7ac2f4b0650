//! Items: paginated list, create, edit, delete with confirmation.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use serde::Deserialize;

use super::{Authed, PageQuery, WebError, done, inline, parse_id};
use crate::state::WebState;
use crate::views::{ConfirmPage, ItemFormPage, ItemsPage, Pager, render};

#[derive(Debug, Deserialize)]
pub struct ItemForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
}

pub async fn list(
    State(state): State<WebState>,
    authed: Authed,
    Query(query): Query<PageQuery>,
) -> Result<Response, WebError> {
    let size = state.settings.page_size;
    let page = query.page();
    let skip = (page - 1) * u64::from(size);
    let items = state.api.items(authed.caller(), skip, size).await?;
    let pager = Pager::new("/items", page, items.count, size);
    if items.data.is_empty() && page > pager.pages {
        return Ok(Redirect::to(&format!("/items?page={}", pager.pages)).into_response());
    }
    let ctx = authed.ctx("Items", "items");
    Ok(render(
        StatusCode::OK,
        &ItemsPage {
            ctx,
            items: items.data,
            count: items.count,
            pager,
        },
    ))
}

fn form_page(
    authed: &Authed,
    editing: Option<&str>,
    title: String,
    description: String,
    error: Option<String>,
) -> ItemFormPage {
    let (heading, action, submit) = match editing {
        Some(id) => ("Edit item", format!("/items/{id}"), "Save"),
        None => ("Add item", "/items".to_owned(), "Save"),
    };
    ItemFormPage {
        ctx: authed.ctx(heading, "items"),
        heading,
        action,
        submit,
        title,
        description,
        error,
    }
}

pub async fn new_page(authed: Authed) -> Response {
    render(
        StatusCode::OK,
        &form_page(&authed, None, String::new(), String::new(), None),
    )
}

pub async fn create(
    State(state): State<WebState>,
    authed: Authed,
    Form(form): Form<ItemForm>,
) -> Result<Response, WebError> {
    match state
        .api
        .create_item(authed.caller(), form.title.trim(), &form.description)
        .await
    {
        Ok(_) => Ok(done(
            &authed.visit.session,
            "/items",
            "Item created successfully.",
        )),
        Err(e) => {
            let error = inline(e)?;
            Ok(render(
                StatusCode::BAD_REQUEST,
                &form_page(&authed, None, form.title, form.description, Some(error)),
            ))
        }
    }
}

pub async fn edit_page(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id)?;
    let item = state.api.item(authed.caller(), &id).await?;
    let id = id.to_string();
    Ok(render(
        StatusCode::OK,
        &form_page(
            &authed,
            Some(&id),
            item.title,
            item.description.unwrap_or_default(),
            None,
        ),
    ))
}

pub async fn update(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<ItemForm>,
) -> Result<Response, WebError> {
    let id = parse_id(&id)?;
    match state
        .api
        .update_item(authed.caller(), &id, form.title.trim(), &form.description)
        .await
    {
        Ok(_) => Ok(done(
            &authed.visit.session,
            "/items",
            "Item updated successfully.",
        )),
        Err(e) => {
            let error = inline(e)?;
            let id = id.to_string();
            Ok(render(
                StatusCode::BAD_REQUEST,
                &form_page(
                    &authed,
                    Some(&id),
                    form.title,
                    form.description,
                    Some(error),
                ),
            ))
        }
    }
}

fn confirm_page(
    authed: &Authed,
    id: &uuid::Uuid,
    title: &str,
    error: Option<String>,
) -> ConfirmPage {
    ConfirmPage {
        ctx: authed.ctx("Delete item", "items"),
        heading: "Delete item".to_owned(),
        message: format!("The item “{title}” will be permanently deleted. Are you sure?"),
        action: format!("/items/{id}/delete"),
        submit: "Delete",
        cancel: "/items".to_owned(),
        error,
    }
}

pub async fn delete_page(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id)?;
    let item = state.api.item(authed.caller(), &id).await?;
    Ok(render(
        StatusCode::OK,
        &confirm_page(&authed, &id, &item.title, None),
    ))
}

pub async fn delete(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id)?;
    let message = state.api.delete_item(authed.caller(), &id).await?;
    Ok(done(&authed.visit.session, "/items", &message.message))
}
