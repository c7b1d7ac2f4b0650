//! Userhub's web UI: server-rendered HTML pages (askama templates, checked
//! at compile time) that talk to the API only through its HTTP contract.
//!
//! - [`WebSettings`]: configuration (`USERHUB_API_URL`, `USERHUB_COOKIE_KEY`, …).
//! - [`WebState`] over a [`Transport`]: [`HttpTransport`] to the API's base
//!   URL (split `web` service) or [`InProcessTransport`] calling the API
//!   router directly (`userhub serve`).
//! - [`router`]: every page plus `/static/...`, with no fallback; the
//!   application uses [`not_found`] as its fallback for non-`/api` paths.
//!
//! The access token lives in a sealed (encrypted) HttpOnly cookie, every
//! form carries a CSRF token, and every response carries a strict CSP. No
//! JavaScript.

pub mod api;
mod assets;
mod cookie;
mod csrf;
pub mod error_page;
pub mod pages;
mod session;
mod settings;
mod span;
mod state;
pub mod transport;
pub mod views;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};

pub use cookie::{SESSION_COOKIE, THEME_COOKIE};
pub use error_page::not_found;
pub use settings::WebSettings;
pub use state::WebState;
pub use transport::{
    HttpTransport, InProcessTransport, SharedTransport, Transport, TransportError,
};
pub use userhub_telemetry::PAGE_CSP as CSP;

/// The URL of the embedded stylesheet (content-hashed).
pub fn stylesheet_url() -> &'static str {
    &assets::urls().css
}

/// The embedded stylesheet.
pub fn stylesheet() -> &'static [u8] {
    assets::css()
}

/// A router that answers every request with the 404 page: merge it last
/// for the standalone `web` service (`router(s.clone()).merge(not_found_router(s))`).
pub fn not_found_router(state: WebState) -> Router {
    Router::new().fallback(not_found).with_state(state)
}

/// All pages and static assets. No fallback is set.
pub fn router(state: WebState) -> Router {
    use pages::{admin, auth, dashboard, items, settings};
    let pages = Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/signup", get(auth::signup_page).post(auth::signup))
        .route(
            "/recover-password",
            get(auth::recover_page).post(auth::recover),
        )
        .route("/reset-password", get(auth::reset_page).post(auth::reset))
        .route("/items", get(items::list).post(items::create))
        .route("/items/new", get(items::new_page))
        .route("/items/{id}", post(items::update))
        .route("/items/{id}/edit", get(items::edit_page))
        .route(
            "/items/{id}/delete",
            get(items::delete_page).post(items::delete),
        )
        .route("/settings", get(settings::profile_page))
        .route("/settings/profile", post(settings::update_profile))
        .route(
            "/settings/password",
            get(settings::password_page).post(settings::update_password),
        )
        .route("/settings/appearance", get(settings::appearance_page))
        .route("/settings/danger", get(settings::danger_page))
        .route(
            "/settings/delete-account",
            get(settings::delete_account_page).post(settings::delete_account),
        )
        .route("/appearance", post(settings::set_theme))
        .route("/admin", get(admin::list))
        .route("/admin/users", post(admin::create))
        .route("/admin/users/new", get(admin::new_page))
        .route("/admin/users/{id}", post(admin::update))
        .route("/admin/users/{id}/edit", get(admin::edit_page))
        .route(
            "/admin/users/{id}/delete",
            get(admin::delete_page).post(admin::delete),
        )
        .layer(from_fn(span::page_span))
        .layer(from_fn(csrf::csrf_layer))
        .layer(from_fn_with_state(state.clone(), session::session_layer));
    let router = Router::new()
        .merge(pages)
        .route("/static/{name}", get(assets::serve));
    userhub_telemetry::page_security_headers(router).with_state(state)
}
