//! The dashboard greeting the user.

use axum::response::Response;
use http::StatusCode;
use tracing::instrument;

use super::Authed;
use crate::views::{DashboardPage, render};

#[instrument(name = "web.page", skip_all, fields(route = "/"))]
pub async fn dashboard(authed: Authed) -> Response {
    let name = authed.user.display_name().to_owned();
    let ctx = authed.ctx("Dashboard", "dashboard");
    render(StatusCode::OK, &DashboardPage { ctx, name })
}
