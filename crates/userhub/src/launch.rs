//! The one start-up sequence of `serve`, `api` and `web`: check the
//! configuration, set up telemetry, bind the listener and the admin
//! listener, build the application, serve until the shutdown signal, drain,
//! flush telemetry.

use std::future::Future;
use std::net::Ipv4Addr;

use tokio::net::TcpListener;
use userhub_core::config::Config;
use userhub_telemetry::{AdminServer, TelemetrySettings};

use crate::app::{Application, Mode, Parts};
use crate::error::StartupError;

/// Runs `mode` as `config` says until `shutdown` completes and the drain
/// ends. A configuration error returns before anything started.
pub async fn launch(
    config: &Config,
    mode: Mode,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let parts = Parts::load(config, mode)?;
    let mut telemetry_settings = TelemetrySettings::load(config)?;
    if mode == Mode::AllInOne && !telemetry_settings.admin_bind_configured {
        // `serve` is the local all-in-one: like its listener, its metrics
        // stay on loopback unless USERHUB_ADMIN_BIND says otherwise.
        telemetry_settings
            .admin_bind
            .set_ip(Ipv4Addr::LOCALHOST.into());
    }
    let telemetry =
        userhub_telemetry::init(&telemetry_settings).map_err(StartupError::Telemetry)?;
    let result = serve(parts, &telemetry_settings, shutdown).await;
    telemetry.shutdown().await;
    result
}

async fn serve(
    parts: Parts,
    telemetry: &TelemetrySettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let bind = parts.bind();
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|e| StartupError::Listen(bind, e))?;
    let admin_listener = bind_admin(telemetry).await?;
    let mode = parts.mode();
    let api_url = parts.api_url().unwrap_or_default().to_owned();
    let app = Application::from_parts(parts, mode.metrics()).await?;
    let admin = admin_listener
        .map(|listener| AdminServer::start(listener, app.admin_router()))
        .transpose()
        .map_err(StartupError::Admin)?;
    tracing::info!(address = %bind, admin_address = %telemetry.admin_bind, mode = ?mode, api_url = %api_url, version = env!("CARGO_PKG_VERSION"), "listening");
    let result = app.run(listener, shutdown).await;
    if let Some(admin) = admin {
        admin.stop();
    }
    result
}

/// The admin listener (`USERHUB_ADMIN_BIND`). A busy *default* port is
/// only a warning (two local processes); a configured one must bind.
async fn bind_admin(telemetry: &TelemetrySettings) -> Result<Option<TcpListener>, StartupError> {
    let address = telemetry.admin_bind;
    match TcpListener::bind(address).await {
        Ok(listener) => Ok(Some(listener)),
        Err(e) if !telemetry.admin_bind_configured => {
            tracing::warn!(address = %address, error = %e, "admin listener (metrics) not started: default port busy; set USERHUB_ADMIN_BIND");
            Ok(None)
        }
        Err(e) => Err(StartupError::ListenAdmin(address, e)),
    }
}
