//! Friendly error pages: 404, 403, API failures. Never a stack trace.

use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode};

use crate::state::WebState;
use crate::views::{self, ErrorPage, PageCtx, Theme};

/// An error page with no session-specific content.
pub fn render(status: StatusCode, heading: &str, message: &str) -> Response {
    render_themed(status, heading, message, Theme::System, None)
}

fn render_themed(
    status: StatusCode,
    heading: &str,
    message: &str,
    theme: Theme,
    project: Option<&str>,
) -> Response {
    let mut ctx = PageCtx::bare(heading);
    ctx.theme = theme;
    if let Some(project) = project {
        ctx.project = project.to_owned();
    }
    let page = ErrorPage {
        ctx,
        status: status.as_u16(),
        heading: heading.to_owned(),
        message: message.to_owned(),
    };
    let mut response = views::render(status, &page);
    crate::headers::harden(response.headers_mut());
    response
}

pub fn not_found_page(theme: Theme, project: Option<&str>) -> Response {
    render_themed(
        StatusCode::NOT_FOUND,
        "Page not found",
        "The page you are looking for does not exist.",
        theme,
        project,
    )
}

pub fn internal() -> Response {
    render(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again in a moment.",
    )
}

/// The 404 page for any path no router matched (the application's
/// fallback for non-`/api` paths).
pub async fn not_found(State(state): State<WebState>, headers: HeaderMap) -> Response {
    not_found_page(
        Theme::from_cookie(&headers),
        Some(&state.settings.project_name),
    )
}
