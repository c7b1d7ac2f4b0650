//! The dashboard greeting the user.

use axum::response::Response;
use http::StatusCode;

use super::Authed;
use crate::api::UserPublic;
use crate::views::{DashboardPage, render};

pub async fn dashboard(authed: Authed) -> Response {
    let name = display_name(&authed.user).to_owned();
    let ctx = authed.ctx("Dashboard", "dashboard");
    render(StatusCode::OK, &DashboardPage { ctx, name })
}

/// The name to greet the user with: full name, else email.
fn display_name(user: &UserPublic) -> &str {
    match user.full_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name,
        _ => &user.email,
    }
}
