//! The web UI's two deployments: mounted next to the API in `userhub serve`
//! (calling the API router in process), or the standalone `userhub web`
//! service calling the API over HTTP at `USERHUB_API_URL`.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use userhub_core::config::{ConfigError, ConfigSource, Settings};
use userhub_telemetry::{HttpTelemetryLayer, Metrics};
use userhub_web::{InProcessTransport, WebSettings, WebState};

use crate::error::StartupError;
use crate::server::{Limits, ShutdownPlan};
use userhub_api::routes::ops::Draining;

/// Web settings when none were given: development derives the cookie key
/// from `SECRET_KEY`; elsewhere `USERHUB_COOKIE_KEY` is required.
pub fn derived_settings(settings: &Settings) -> Result<WebSettings, StartupError> {
    let mut web = WebSettings::load(
        &ConfigSource::default(),
        &settings.environment,
        Some(&settings.secret_key),
    )
    .map_err(StartupError::Web)?;
    web.project_name = settings.project_name.clone();
    web.frontend_host = settings.frontend_host.clone();
    Ok(web)
}

/// The API router plus the UI, which calls the API (with all its layers)
/// in process. Unknown `/api/...` paths get the API's JSON 404, all others
/// the UI's 404 page.
pub fn mount_in_process(
    api: Router,
    web: WebSettings,
    settings: &Settings,
    metrics: Metrics,
) -> Router {
    // The API's own telemetry layer: its server spans (and metrics) exist for
    // in-process calls too, as children of the page view's span.
    let in_process = userhub_api::layers(
        api.clone().fallback(userhub_api::middleware::not_found),
        settings,
    )
    .layer(HttpTelemetryLayer::new(metrics));
    let state = WebState::in_process(web, InProcessTransport::new(in_process));
    api.merge(userhub_web::router(state.clone()))
        .fallback(move |request: Request| fallback(state.clone(), request))
}

async fn fallback(state: WebState, request: Request) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        userhub_api::middleware::not_found().await.into_response()
    } else {
        userhub_web::not_found(State(state), request.headers().clone()).await
    }
}

/// Where `userhub web` listens: `USERHUB_BIND`, default port 8080.
pub fn bind_address(source: &ConfigSource, development: bool) -> Result<SocketAddr, ConfigError> {
    let default = if development {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    } else {
        SocketAddr::from(([0, 0, 0, 0], 8080))
    };
    source.parse_or("USERHUB_BIND", default, "an address like 0.0.0.0:8080")
}

/// The standalone web service's admin router: `/metrics` (its HTTP server,
/// process and build metrics), `/livez`, and `/readyz`, which is ready
/// whenever the process serves. It deliberately does not follow the API's
/// health: the UI answers its own "service unavailable" page when the API is
/// down, which is better than every web replica leaving the load balancer.
pub fn standalone_admin_router(metrics: Metrics, draining: Draining) -> Router {
    userhub_telemetry::admin_router(metrics, move || {
        let draining = draining.clone();
        async move { !draining.is_draining() }
    })
}

/// The standalone web service's router (the API over HTTP).
pub fn standalone_router(
    web: WebSettings,
    metrics: Metrics,
    draining: Draining,
) -> Result<Router, ConfigError> {
    let Some(api_url) = web.api_url.clone() else {
        return Err(ConfigError::new(
            "USERHUB_API_URL",
            "required by `userhub web` (for example http://api:8000)",
        ));
    };
    let state = WebState::over_http(web, &api_url)
        .map_err(|e| ConfigError::new("USERHUB_API_URL", e.to_string()))?;
    Ok(userhub_web::router(state.clone())
        .merge(probes(draining))
        .merge(userhub_web::not_found_router(state))
        .layer(CatchPanicLayer::custom(|_| {
            userhub_web::error_page::internal()
        }))
        .layer(HttpTelemetryLayer::new(metrics)))
}

/// `/livez` and `/readyz` on the web service's own port, answering like
/// the API's (`{"status":"ok"}`, `{"status":"ready"}`, 503 once shutdown
/// began); see [`standalone_admin_router`] for why readiness ignores the API.
fn probes(draining: Draining) -> Router {
    Router::new()
        .route("/livez", get(|| async { Json(json!({ "status": "ok" })) }))
        .route(
            "/readyz",
            get(move || async move {
                if draining.is_draining() {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({ "status": "unavailable", "reason": "shutting down" })),
                    )
                } else {
                    (StatusCode::OK, Json(json!({ "status": "ready" })))
                }
            }),
        )
}

/// Serves `router` until `shutdown`, then fails `/readyz` for the delay of
/// `plan` while still serving, and drains for at most its deadline.
pub async fn run_standalone(
    router: Router,
    listener: TcpListener,
    limits: Limits,
    plan: ShutdownPlan,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::server::serve(listener, router, limits, plan, shutdown).await
}
