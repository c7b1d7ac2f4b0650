//! Userhub's REST API: the routes of the API contract under `/api/v1`, the
//! OpenAPI document and interactive docs, and the operational probes, as an
//! axum [`Router`] over one [`AppState`].
//!
//! ```text
//! router(state)        /api/v1/{login,users,items,utils,private}, /docs, /livez, /readyz
//! layers(router, ..)   request id, panics → 500, security headers, CORS, timeout, body limit
//! ```

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod docs;
pub mod email;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod models;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::catch_panic::CatchPanicLayer;
use userhub_core::config::Settings;

pub use error::ApiError;
pub use state::AppState;

/// All API routes with their state. Unknown paths are left to the caller's
/// fallback (see [`middleware::not_found`]).
pub fn router(state: AppState) -> Router {
    let contract = routes::contract(state.settings.environment.is_development());
    Router::new()
        .merge(contract.into_router())
        .merge(docs::router())
        .merge(routes::ops::router(&state))
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .with_state(state)
}

/// The cross-cutting layers, applied once around the whole application.
pub fn layers(router: Router, settings: &Settings) -> Router {
    let router = router
        .layer(DefaultBodyLimit::max(settings.server.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(
            middleware::RequestTimeout(settings.server.request_timeout),
            middleware::request_timeout,
        ))
        .layer(middleware::cors_layer(&settings.server.cors_origins));
    userhub_telemetry::api_security_headers(router)
        .layer(CatchPanicLayer::custom(
            middleware::request_id::panic_response,
        ))
        .layer(axum::middleware::from_fn(middleware::request_id))
}
