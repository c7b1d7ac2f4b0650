//! Admin (superusers only): paginated users list, create, edit, delete.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::form::{Deletion, if_confirmed, show, submit};
use super::records::{Listing, find};
use super::{Authed, PageQuery, WebError, parse_id};
use crate::api::{UserCreate, UserPublic, UserUpdate};
use crate::state::WebState;
use crate::views::{AdminPage, UserFormPage};

pub async fn list(
    State(state): State<WebState>,
    authed: Authed,
    Query(query): Query<PageQuery>,
) -> Result<Response, WebError> {
    authed.require_superuser()?;
    let listing = Listing::new("/admin", &query, state.settings.page_size);
    let users = state
        .api
        .users(authed.caller(), listing.skip(), listing.limit())
        .await?;
    listing.show(users.data.is_empty(), users.count, |pager| AdminPage {
        ctx: authed.ctx("Admin", "admin"),
        users: users.data,
        me_id: authed.user.id,
        count: users.count,
        pager,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AdminUserForm {
    email: String,
    full_name: String,
    password: String,
    confirm_password: String,
    is_active: Option<String>,
    is_superuser: Option<String>,
}

/// The fields of a user created or edited by a superuser, as the form shows them.
#[derive(Debug, Clone, Default)]
struct UserForm {
    email: String,
    full_name: Option<String>,
    password: Option<String>,
    is_active: bool,
    is_superuser: bool,
}

impl UserForm {
    fn to_create(&self) -> UserCreate {
        UserCreate {
            email: self.email.clone(),
            password: self.password.clone().unwrap_or_default(),
            full_name: self.full_name.clone(),
            is_active: self.is_active,
            is_superuser: self.is_superuser,
        }
    }

    fn to_update(&self) -> UserUpdate {
        UserUpdate {
            email: Some(self.email.clone()),
            is_active: Some(self.is_active),
            is_superuser: Some(self.is_superuser),
            full_name: Some(self.full_name.clone()),
            password: self.password.clone(),
        }
    }
}

impl AdminUserForm {
    fn to_api(&self) -> UserForm {
        let full_name = self.full_name.trim();
        UserForm {
            email: self.email.trim().to_owned(),
            full_name: (!full_name.is_empty()).then(|| full_name.to_owned()),
            password: (!self.password.is_empty()).then(|| self.password.clone()),
            is_active: self.is_active.is_some(),
            is_superuser: self.is_superuser.is_some(),
        }
    }
}

/// The user the path names, shown to superusers only.
async fn find_user(
    state: &WebState,
    authed: &Authed,
    id: &str,
) -> Result<(Uuid, UserPublic), WebError> {
    authed.require_superuser()?;
    find(id, async |id| state.api.user(authed.caller(), id).await).await
}

fn form_page(
    authed: &Authed,
    editing: Option<&Uuid>,
    form: &UserForm,
    error: Option<String>,
) -> UserFormPage {
    let (heading, action) = match editing {
        Some(id) => ("Edit user", format!("/admin/users/{id}")),
        None => ("Add user", "/admin/users".to_owned()),
    };
    UserFormPage {
        ctx: authed.ctx(heading, "admin"),
        heading,
        action,
        submit: "Save",
        is_new: editing.is_none(),
        email: form.email.clone(),
        full_name: form.full_name.clone().unwrap_or_default(),
        is_active: form.is_active,
        is_superuser: form.is_superuser,
        error,
    }
}

pub async fn new_page(authed: Authed) -> Result<Response, WebError> {
    authed.require_superuser()?;
    let blank = UserForm {
        is_active: true,
        ..UserForm::default()
    };
    show(&form_page(&authed, None, &blank, None))
}

pub async fn create(
    State(state): State<WebState>,
    authed: Authed,
    Form(form): Form<AdminUserForm>,
) -> Result<Response, WebError> {
    authed.require_superuser()?;
    let user = form.to_api();
    let body = user.to_create();
    let call = state.api.create_user(authed.caller(), &body);
    submit(
        if_confirmed(&form.password, &form.confirm_password, call),
        |_| authed.done("/admin", "User created successfully."),
        |error| form_page(&authed, None, &user, Some(error)),
    )
    .await
}

pub async fn edit_page(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (id, user) = find_user(&state, &authed, &id).await?;
    let form = UserForm {
        email: user.email,
        full_name: user.full_name,
        password: None,
        is_active: user.is_active,
        is_superuser: user.is_superuser,
    };
    show(&form_page(&authed, Some(&id), &form, None))
}

pub async fn update(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<AdminUserForm>,
) -> Result<Response, WebError> {
    authed.require_superuser()?;
    let id = parse_id(&id)?;
    let user = form.to_api();
    let body = user.to_update();
    let call = state.api.update_user(authed.caller(), &id, &body);
    submit(
        if_confirmed(&form.password, &form.confirm_password, call),
        |_| authed.done("/admin", "User updated successfully."),
        |error| form_page(&authed, Some(&id), &user, Some(error)),
    )
    .await
}

/// The deletion of user `id`.
fn deletion(id: &Uuid) -> Deletion {
    Deletion {
        heading: "Delete user",
        nav: "admin",
        action: format!("/admin/users/{id}/delete"),
        back: "/admin",
    }
}

fn warning(email: &str) -> String {
    format!("The user {email} and all their items will be permanently deleted. Are you sure?")
}

pub async fn delete_page(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (id, user) = find_user(&state, &authed, &id).await?;
    deletion(&id).ask(&authed, warning(&user.email))
}

pub async fn delete(
    State(state): State<WebState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    authed.require_superuser()?;
    let id = parse_id(&id)?;
    let call = state.api.delete_user(authed.caller(), &id);
    deletion(&id)
        .confirmed_or_shown(&authed, call, warning(&id.to_string()))
        .await
}
