//! What each subcommand does; failures are [`CliError`]s.

use std::sync::Arc;
use std::time::Duration;

use userhub::{Mode, healthcheck, launch, shutdown, superuser};
use userhub_core::config::{Config, ConfigError, Environment, ExposeSecret, Settings};
use userhub_core::{Email, Password};
use userhub_storage::Database;
use userhub_telemetry::{Metrics, TelemetryGuard, TelemetrySettings};

use super::error::CliError;
use super::{Cli, Command};

pub async fn dispatch(cli: Cli) -> Result<(), CliError> {
    let load = |environment: Environment| Config::load(cli.config.as_deref(), environment);
    let deployed = Environment::production;
    match &cli.command {
        Command::Serve => serve(Mode::AllInOne, &cli).await,
        Command::Api => serve(Mode::Api, &cli).await,
        Command::Web => serve(Mode::Web, &cli).await,
        Command::Migrate => migrate(&load(deployed())?).await,
        Command::CreateSuperuser { email } => create_superuser(&load(deployed())?, email).await,
        Command::Healthcheck {
            url,
            timeout_seconds,
        } => health(&cli, url.as_deref(), *timeout_seconds).await,
        Command::Openapi => {
            let doc = userhub_api::openapi::document(false);
            let json = serde_json::to_string_pretty(&doc)
                .map_err(|e| CliError::failed("cannot render the OpenAPI document", e))?;
            println!("{json}");
            Ok(())
        }
    }
}

/// `serve`, `api` and `web`: the one start-up sequence.
async fn serve(mode: Mode, cli: &Cli) -> Result<(), CliError> {
    // Installed first, so that a signal during start-up is not fatal.
    let shutdown = shutdown::signal();
    let config = Config::load(cli.config.as_deref(), mode.default_environment())?;
    Ok(launch(&config, mode, shutdown).await?)
}

/// Logs, traces and their exporter, as configured; the guard flushes spans.
fn init_telemetry(config: &Config) -> Result<TelemetryGuard, CliError> {
    let settings = TelemetrySettings::load(config)?;
    userhub_telemetry::init(&settings).map_err(|e| userhub::StartupError::Telemetry(e).into())
}

async fn open_db(settings: &Settings) -> Result<Database, CliError> {
    let observer = Arc::new(userhub::db_metrics::DbMetrics(Metrics::new()));
    Database::connect(&settings.database, observer)
        .await
        .map_err(|e| CliError::failed("cannot open the database", e))
}

async fn migrate(config: &Config) -> Result<(), CliError> {
    let settings = Settings::load(config)?;
    let _telemetry = init_telemetry(config)?;
    let db = open_db(&settings).await?;
    let result = db.migrate().await;
    db.close().await;
    let report = result.map_err(|e| CliError::failed("migration failed", e))?;
    println!(
        "migrations applied: {:?}; baselined: {:?}",
        report.applied, report.baselined
    );
    for (email, n) in &report.case_duplicates {
        println!(
            "warning: {n} users share the email {email} ignoring case (left unchanged; exact-case matches win at login)"
        );
    }
    Ok(())
}

async fn create_superuser(config: &Config, email: &str) -> Result<(), CliError> {
    let settings = Settings::load(config)?;
    let _telemetry = init_telemetry(config)?;
    let email = Email::parse(email).map_err(|e| CliError::Usage(format!("--email: {}", e.msg)))?;
    let (password, generated) = match &config.api.superuser_password {
        Some(p) => (p.expose_secret().to_owned(), false),
        None => (superuser::generate_password(), true),
    };
    if Password::parse(&password).is_err() {
        return Err(
            ConfigError::new("USERHUB_SUPERUSER_PASSWORD", "must be 8 to 128 characters").into(),
        );
    }
    let db = open_db(&settings).await?;
    db.migrate()
        .await
        .map_err(|e| CliError::failed("migration failed", e))?;
    let state = userhub_api::AppState::new(settings, db.clone(), Metrics::new());
    let result = superuser::create_superuser(&state, email.clone(), &password).await;
    db.close().await;
    let user = result.map_err(|e| CliError::failed("cannot create the superuser", e))?;
    println!("created superuser {email} (id {})", user.id);
    if generated {
        println!("password: {password}");
    }
    Ok(())
}

/// Exit 0 when the readiness probe answers 2xx: `--url`, else `/readyz` on
/// `USERHUB_BIND` (default 127.0.0.1:8000), an unspecified address
/// (0.0.0.0, [::]) probed on loopback.
async fn health(cli: &Cli, url: Option<&str>, timeout_seconds: f64) -> Result<(), CliError> {
    let (addr, path) = match url {
        Some(url) => {
            let rest = url.strip_prefix("http://").unwrap_or(url);
            match rest.split_once('/') {
                Some((addr, path)) => (addr.to_owned(), format!("/{path}")),
                None => (rest.to_owned(), "/readyz".to_owned()),
            }
        }
        None => {
            let config = Config::load(cli.config.as_deref(), Environment::production())?;
            let mut bind = config
                .server
                .bind_address
                .unwrap_or_else(|| ([127, 0, 0, 1], userhub_core::config::DEFAULT_PORT).into());
            if bind.ip().is_unspecified() {
                bind.set_ip(match bind {
                    std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            (bind.to_string(), "/readyz".to_owned())
        }
    };
    let timeout = Duration::from_secs_f64(timeout_seconds.clamp(0.1, 60.0));
    let status = healthcheck::check(&addr, &path, timeout)
        .await
        .map_err(CliError::Unhealthy)?;
    println!("ok: {status}");
    Ok(())
}
