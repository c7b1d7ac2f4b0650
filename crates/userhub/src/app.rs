//! Building and running the application.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;
use tracing::info;
use userhub_api::AppState;
use userhub_core::config::Settings;
use userhub_storage::Database;
use userhub_telemetry::{HttpTelemetryLayer, Metrics};

use crate::db_metrics::DbMetrics;
use crate::error::StartupError;
use crate::server::{Limits, ShutdownPlan};
use crate::superuser;

/// How long `api` (and `web`) keep serving after SIGTERM with `/readyz`
/// failing, unless `USERHUB_SHUTDOWN_DELAY_SECONDS` says otherwise: long
/// enough for load balancers and Kubernetes endpoints to deregister.
pub const DEFAULT_SHUTDOWN_DELAY: Duration = Duration::from_secs(5);

/// Which parts of Userhub this process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// API and web UI on one listener (`userhub serve`).
    AllInOne,
    /// The API alone (`userhub api`).
    Api,
}

/// A built application, ready to serve.
#[derive(Debug)]
pub struct Application {
    state: AppState,
    router: Router,
    mode: Mode,
}

impl Application {
    /// Connects to the database, migrates it (unless disabled), ensures the
    /// first superuser and assembles the routers. All-in-one, the web UI's
    /// settings are derived from `settings` (see [`Self::build_with_web`]).
    pub async fn build(
        settings: Settings,
        mode: Mode,
        metrics: Metrics,
    ) -> Result<Self, StartupError> {
        Self::build_with_web(settings, mode, metrics, None).await
    }

    /// [`Self::build`], with the web UI's settings for all-in-one mode
    /// (`None`: derived from `settings`, refused outside development).
    pub async fn build_with_web(
        settings: Settings,
        mode: Mode,
        metrics: Metrics,
        web: Option<userhub_web::WebSettings>,
    ) -> Result<Self, StartupError> {
        let web = match (mode, web) {
            (Mode::AllInOne, None) => Some(crate::web::derived_settings(&settings)?),
            (_, web) => web,
        };
        let observer = Arc::new(DbMetrics(metrics.clone()));
        let db = Database::connect(&settings.database, observer)
            .await
            .map_err(StartupError::Database)?;
        if settings.database.migrate_on_start {
            let report = db.migrate().await.map_err(StartupError::Migrate)?;
            if !report.applied.is_empty() || report.baselined.is_some() {
                info!(applied = ?report.applied, baselined = ?report.baselined, "database migrated");
            }
        }
        let state = AppState::new(settings, db, metrics);
        superuser::ensure_first_superuser(&state)
            .await
            .map_err(StartupError::Superuser)?;
        let router = assemble(state.clone(), mode, web);
        Ok(Self {
            state,
            router,
            mode,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The admin listener's router: `/metrics` and the API's probes. Call
    /// it inside the runtime that serves the application.
    pub fn admin_router(&self) -> Router {
        // The admin listener runs on its own runtime; the pool's
        // connections belong to this one.
        let readiness = userhub_api::routes::ops::readiness(&self.state)
            .on_runtime(tokio::runtime::Handle::current());
        userhub_telemetry::admin_router(self.state.metrics.clone(), readiness)
    }

    /// The assembled router (without trailing-slash normalisation).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves on `listener` until `shutdown` completes; then `/readyz`
    /// fails for the shutdown delay while requests are still served, the
    /// listener closes, in-flight requests drain for at most the configured
    /// deadline and the database pool closes.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let server = &self.state.settings.server;
        let plan = ShutdownPlan {
            draining: self.state.draining.clone(),
            delay: server.shutdown_delay.unwrap_or(match self.mode {
                Mode::AllInOne => Duration::ZERO,
                Mode::Api => DEFAULT_SHUTDOWN_DELAY,
            }),
            drain: server.shutdown_timeout,
        };
        let limits = Limits {
            connections: server.connections.clone(),
            body_limit_bytes: server.body_limit_bytes,
            body_timeout: server.request_timeout,
        };
        let service = NormalizePathLayer::trim_trailing_slash().layer(self.router);
        let result = crate::server::serve(listener, service, limits, plan, shutdown).await;
        self.state.db.close().await;
        info!("stopped");
        result.map_err(StartupError::Serve)
    }
}

/// The API (and, all-in-one, the web UI) with the cross-cutting layers.
fn assemble(state: AppState, mode: Mode, web: Option<userhub_web::WebSettings>) -> Router {
    let settings = state.settings.clone();
    let metrics = state.metrics.clone();
    let api = userhub_api::router(state);
    let app = match (mode, web) {
        (Mode::AllInOne, Some(web)) => {
            crate::web::mount_in_process(api, web, &settings, metrics.clone())
        }
        _ => api.fallback(userhub_api::middleware::not_found),
    };
    let in_flight = crate::shed::InFlight::new(settings.server.connections.max_in_flight_requests);
    userhub_api::layers(app, &settings)
        .layer(axum::middleware::from_fn_with_state(
            in_flight,
            crate::shed::shed,
        ))
        .layer(HttpTelemetryLayer::new(metrics))
}
