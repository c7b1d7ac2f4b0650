//! The application of every serving mode: what it serves (checked from the
//! configuration before anything starts), how it is built, and the one way
//! it serves and drains.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;
use tracing::info;
use userhub_api::AppState;
use userhub_core::config::{Config, ConfigError, DEFAULT_PORT, Environment, Settings};
use userhub_storage::Database;
use userhub_telemetry::{Draining, HttpTelemetryLayer, Metrics, Readiness};
use userhub_web::WebSettings;

use crate::db_metrics::DbMetrics;
use crate::error::StartupError;
use crate::server::{Limits, ShutdownPlan};
use crate::superuser;

/// How long `api` (and `web`) keep serving after SIGTERM with `/readyz`
/// failing, unless `USERHUB_SHUTDOWN_DELAY_SECONDS` says otherwise: long
/// enough for load balancers and Kubernetes endpoints to deregister.
pub const DEFAULT_SHUTDOWN_DELAY: Duration = Duration::from_secs(5);

/// The web service's port when `USERHUB_BIND` is unset.
pub const DEFAULT_WEB_PORT: u16 = 8080;

/// Which parts of Userhub this process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// API and web UI on one listener (`userhub serve`).
    AllInOne,
    /// The API alone (`userhub api`).
    Api,
    /// The web UI alone, calling the API over HTTP (`userhub web`).
    Web,
}

impl Mode {
    fn port(self) -> u16 {
        match self {
            Self::Web => DEFAULT_WEB_PORT,
            Self::AllInOne | Self::Api => DEFAULT_PORT,
        }
    }

    fn shutdown_delay(self) -> Duration {
        match self {
            Self::AllInOne => Duration::ZERO,
            Self::Api | Self::Web => DEFAULT_SHUTDOWN_DELAY,
        }
    }

    /// The environment when neither `ENVIRONMENT` nor `FASTAPI_ENV` names
    /// one: development for the local all-in-one, deployed otherwise.
    pub fn default_environment(self) -> Environment {
        match self {
            Self::AllInOne => Environment::Development,
            Self::Api | Self::Web => Environment::production(),
        }
    }

    /// The metrics its process exposes (the web service has no database).
    pub fn metrics(self) -> Metrics {
        match self {
            Self::Web => Metrics::http_only(),
            Self::AllInOne | Self::Api => Metrics::new(),
        }
    }
}

/// The settings of what a process serves.
#[derive(Debug)]
enum Services {
    /// The API, and all in one the UI calling it in process.
    Api(Box<Settings>, Option<WebSettings>),
    /// The UI alone, calling the API over HTTP.
    Web(WebSettings),
}

/// What a mode serves, with its settings checked: every configuration
/// error surfaces here, before anything starts.
#[derive(Debug)]
pub struct Parts {
    mode: Mode,
    services: Services,
    bind: SocketAddr,
    limits: Limits,
    shutdown_delay: Duration,
    drain: Duration,
}

impl Parts {
    pub fn load(config: &Config, mode: Mode) -> Result<Self, ConfigError> {
        let services = match mode {
            Mode::Api => Services::Api(Box::new(Settings::load(config)?), None),
            Mode::AllInOne => {
                let api = Settings::load(config)?;
                // The cookie key may derive from a generated `SECRET_KEY`.
                let web = WebSettings::load(config, Some(&api.secret_key))?;
                Services::Api(Box::new(api), Some(web))
            }
            Mode::Web => {
                let web = WebSettings::load(config, config.api.secret_key.as_ref())?;
                if web.api_url.is_none() {
                    return Err(ConfigError::new(
                        "USERHUB_API_URL",
                        "required by `userhub web` (for example http://api:8000)",
                    ));
                }
                Services::Web(web)
            }
        };
        let server = &config.server;
        Ok(Self {
            mode,
            services,
            bind: server.bind(&config.environment, mode.port()),
            limits: Limits {
                connections: server.connections.clone(),
                body_limit_bytes: server.body_limit_bytes,
                body_timeout: server.request_timeout,
            },
            shutdown_delay: server.shutdown_delay.unwrap_or(mode.shutdown_delay()),
            drain: server.shutdown_timeout,
        })
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The listener's address (`USERHUB_BIND` or the mode's default).
    pub fn bind(&self) -> SocketAddr {
        self.bind
    }

    /// The API URL the web service calls (`web` only).
    pub fn api_url(&self) -> Option<&str> {
        match &self.services {
            Services::Web(web) => web.api_url.as_deref(),
            Services::Api(..) => None,
        }
    }
}

/// A built application, ready to serve.
#[derive(Debug)]
pub struct Application {
    mode: Mode,
    router: Router,
    metrics: Metrics,
    readiness: Readiness,
    draining: Draining,
    state: Option<AppState>,
    limits: Limits,
    shutdown_delay: Duration,
    drain: Duration,
}

impl Application {
    /// [`Self::from_parts`] for the configuration `config` describes.
    pub async fn build(
        config: &Config,
        mode: Mode,
        metrics: Metrics,
    ) -> Result<Self, StartupError> {
        Self::from_parts(Parts::load(config, mode)?, metrics).await
    }

    /// With the API: connects to the database, migrates it (unless
    /// disabled) and ensures the first superuser. Then assembles the
    /// routers of the mode and their probes.
    pub async fn from_parts(parts: Parts, metrics: Metrics) -> Result<Self, StartupError> {
        let max_in_flight = parts.limits.connections.max_in_flight_requests;
        let (router, readiness, draining, state) = match parts.services {
            Services::Api(settings, web) => {
                let state = open(*settings, metrics.clone()).await?;
                let readiness = userhub_api::routes::ops::readiness(&state);
                let router = assemble(state.clone(), web, max_in_flight);
                (router, readiness, state.draining.clone(), Some(state))
            }
            Services::Web(web) => {
                let draining = Draining::default();
                let readiness = Readiness::serving(draining.clone());
                let router = crate::web::over_http(web, metrics.clone(), readiness.clone())?;
                (router, readiness, draining, None)
            }
        };
        Ok(Self {
            mode: parts.mode,
            router,
            metrics,
            readiness,
            draining,
            state,
            limits: parts.limits,
            shutdown_delay: parts.shutdown_delay,
            drain: parts.drain,
        })
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The API's state (`None` for the web service, which has no API).
    pub fn state(&self) -> Option<&AppState> {
        self.state.as_ref()
    }

    /// The admin listener's router: `/metrics` and the probes. Call it
    /// inside the runtime that serves the application: the admin listener
    /// runs on its own runtime, the readiness check (database pool) on this
    /// one.
    pub fn admin_router(&self) -> Router {
        let readiness = self
            .readiness
            .clone()
            .on_runtime(tokio::runtime::Handle::current());
        userhub_telemetry::admin_router(self.metrics.clone(), readiness)
    }

    /// The assembled router (without trailing-slash normalisation).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves on `listener` until `shutdown` completes; then `/readyz`
    /// fails for the shutdown delay while requests are still served, the
    /// listener closes, in-flight requests drain for at most the configured
    /// deadline and the database pool (if any) closes.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let plan = ShutdownPlan {
            draining: self.draining,
            delay: self.shutdown_delay,
            drain: self.drain,
        };
        let service = NormalizePathLayer::trim_trailing_slash().layer(self.router);
        let result = crate::server::serve(listener, service, self.limits, plan, shutdown).await;
        if let Some(state) = self.state {
            state.db.close().await;
        }
        info!("stopped");
        result.map_err(StartupError::Serve)
    }
}

/// The API's state over a connected (and migrated) database.
async fn open(settings: Settings, metrics: Metrics) -> Result<AppState, StartupError> {
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
    Ok(state)
}

/// The API (and, all-in-one, the web UI) with the cross-cutting layers.
fn assemble(state: AppState, web: Option<WebSettings>, max_in_flight: usize) -> Router {
    let settings = state.settings.clone();
    let metrics = state.metrics.clone();
    let api = userhub_api::router(state);
    let app = match web {
        Some(web) => crate::web::mount_in_process(api, web, &settings, metrics.clone()),
        None => api.fallback(userhub_api::middleware::not_found),
    };
    userhub_api::layers(app, &settings)
        .layer(axum::middleware::from_fn_with_state(
            crate::shed::InFlight::new(max_in_flight),
            crate::shed::shed,
        ))
        .layer(HttpTelemetryLayer::new(metrics))
}
