//! The web UI's two deployments: mounted next to the API in `userhub serve`
//! (calling the API router in process), or the standalone `userhub web`
//! service calling the API over HTTP at `USERHUB_API_URL`.

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use userhub_core::config::{ConfigError, Settings};
use userhub_telemetry::{HttpTelemetryLayer, Metrics, Readiness, probe_router};
use userhub_web::{InProcessTransport, WebSettings, WebState};

use crate::error::StartupError;

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

/// The standalone web service's router: the UI calling the API over HTTP
/// at `USERHUB_API_URL`, and the probes. Readiness deliberately does not
/// follow the API's health: the UI answers its own "service unavailable"
/// page when the API is down, which is better than every web replica
/// leaving the load balancer.
pub fn over_http(
    web: WebSettings,
    metrics: Metrics,
    readiness: Readiness,
) -> Result<Router, StartupError> {
    let api_url = web.api_url.clone().unwrap_or_default();
    let state = WebState::over_http(web, &api_url)
        .map_err(|e| ConfigError::new("USERHUB_API_URL", e.to_string()))?;
    Ok(userhub_web::router(state.clone())
        .merge(probe_router(readiness))
        .merge(userhub_web::not_found_router(state))
        .layer(CatchPanicLayer::custom(|_| {
            userhub_web::error_page::internal()
        }))
        .layer(HttpTelemetryLayer::new(metrics)))
}
