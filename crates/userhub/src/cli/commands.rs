//! What each subcommand does. Exit codes: 0 success, 1 runtime failure,
//! 2 invalid configuration or usage.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;
use userhub::server::{Limits, ShutdownPlan};
use userhub::{Application, Mode, healthcheck, shutdown, superuser};
use userhub_core::Email;
use userhub_core::config::{ConfigError, ConfigSource, ConnectionSettings, Environment, Settings};
use userhub_storage::Database;
use userhub_telemetry::{
    AdminServer, Draining, Metrics, TelemetryGuard, TelemetrySettings, error_chain,
};

use super::{Cli, Command};

const CONFIG_ERROR: u8 = 2;

fn fail(context: &str, err: &(dyn Error + 'static)) -> ExitCode {
    let chain = error_chain(err);
    tracing::error!(error.chain = %chain, "{context}");
    eprintln!("userhub: {context}: {chain}");
    ExitCode::FAILURE
}

fn config_error(err: &ConfigError) -> ExitCode {
    eprintln!("userhub: {err}");
    ExitCode::from(CONFIG_ERROR)
}

fn load(cli: &Cli, default_env: Environment) -> Result<(ConfigSource, Settings), ExitCode> {
    let source =
        ConfigSource::from_env_and_file(cli.config.as_deref()).map_err(|e| config_error(&e))?;
    let settings = Settings::load(&source, default_env).map_err(|e| config_error(&e))?;
    Ok((source, settings))
}

/// Logs, traces and their exporter, as configured; the guard flushes spans.
fn init_telemetry(
    source: &ConfigSource,
    environment: &Environment,
) -> Result<(TelemetryGuard, TelemetrySettings), ExitCode> {
    let telemetry =
        TelemetrySettings::for_environment(source, environment).map_err(|e| config_error(&e))?;
    let guard = userhub_telemetry::init(&telemetry).map_err(|e| {
        eprintln!("userhub: cannot set up telemetry: {}", error_chain(&e));
        ExitCode::FAILURE
    })?;
    Ok((guard, telemetry))
}

/// Serves the admin router built by `router` on `listener` (when bound).
fn start_admin(
    listener: Option<TcpListener>,
    router: impl FnOnce() -> axum::Router,
) -> Result<Option<AdminServer>, ExitCode> {
    listener
        .map(|l| AdminServer::start(l, router()))
        .transpose()
        .map_err(|e| fail("cannot start the admin listener", &e))
}

pub async fn dispatch(cli: Cli) -> ExitCode {
    let deployed = Environment::production();
    match &cli.command {
        Command::Serve => serve(&cli, Environment::Development, Mode::AllInOne).await,
        Command::Api => serve(&cli, deployed, Mode::Api).await,
        Command::Web => web(&cli).await,
        Command::Migrate => migrate(&cli, deployed).await,
        Command::CreateSuperuser { email } => create_superuser(&cli, deployed, email).await,
        Command::Healthcheck {
            url,
            timeout_seconds,
        } => health(&cli, url.as_deref(), *timeout_seconds).await,
        Command::Openapi => {
            let doc = userhub_api::openapi::document(false);
            match serde_json::to_string_pretty(&doc) {
                Ok(json) => {
                    println!("{json}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail("cannot render the OpenAPI document", &e),
            }
        }
    }
}

async fn serve(cli: &Cli, default_env: Environment, mode: Mode) -> ExitCode {
    let (source, settings) = match load(cli, default_env) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let (telemetry, mut telemetry_settings) = match init_telemetry(&source, &settings.environment) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if mode == Mode::AllInOne && !telemetry_settings.admin_bind_configured {
        // `serve` is the local all-in-one: like its listener, its metrics
        // stay on loopback unless USERHUB_ADMIN_BIND says otherwise.
        telemetry_settings
            .admin_bind
            .set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let shutdown = shutdown::signal();
    let web = match mode {
        Mode::AllInOne => match userhub_web::WebSettings::load(
            &source,
            &settings.environment,
            Some(&settings.secret_key),
        ) {
            Ok(web) => Some(web),
            Err(e) => return config_error(&e),
        },
        Mode::Api => None,
    };
    let bind = settings.server.bind;
    let listener = match TcpListener::bind(bind).await {
        Ok(l) => l,
        Err(e) => return fail(&format!("cannot listen on {bind}"), &e),
    };
    let admin_bind = telemetry_settings.admin_bind;
    let admin_listener = match bind_admin(&telemetry_settings).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    let app = match Application::build_with_web(settings, mode, Metrics::new(), web).await {
        Ok(app) => app,
        Err(e) => return fail("startup failed", &e),
    };
    let admin = match start_admin(admin_listener, || app.admin_router()) {
        Ok(admin) => admin,
        Err(code) => return code,
    };
    tracing::info!(address = %bind, admin_address = %admin_bind, mode = ?mode, version = env!("CARGO_PKG_VERSION"), "listening");
    let result = app.run(listener, shutdown).await;
    if let Some(admin) = admin {
        admin.stop();
    }
    telemetry.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail("server failed", &e),
    }
}

/// The admin listener (`USERHUB_ADMIN_BIND`). A busy *default* port is
/// only a warning (two local processes); a configured one must bind.
async fn bind_admin(telemetry: &TelemetrySettings) -> Result<Option<TcpListener>, ExitCode> {
    let address = telemetry.admin_bind;
    match TcpListener::bind(address).await {
        Ok(l) => Ok(Some(l)),
        Err(e) if !telemetry.admin_bind_configured => {
            tracing::warn!(address = %address, error = %e, "admin listener (metrics) not started: default port busy; set USERHUB_ADMIN_BIND");
            Ok(None)
        }
        Err(e) => Err(fail(&format!("cannot listen on {address} (admin)"), &e)),
    }
}

async fn open_db(settings: &Settings) -> Result<Database, ExitCode> {
    let observer = std::sync::Arc::new(userhub::db_metrics::DbMetrics(Metrics::new()));
    Database::connect(&settings.database, observer)
        .await
        .map_err(|e| fail("cannot open the database", &e))
}

async fn migrate(cli: &Cli, default_env: Environment) -> ExitCode {
    let (source, settings) = match load(cli, default_env) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let _telemetry = match init_telemetry(&source, &settings.environment) {
        Ok((guard, _)) => guard,
        Err(code) => return code,
    };
    let db = match open_db(&settings).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let result = db.migrate().await;
    db.close().await;
    match result {
        Ok(report) => {
            println!(
                "migrations applied: {:?}; baselined: {:?}",
                report.applied, report.baselined
            );
            for (email, n) in &report.case_duplicates {
                println!(
                    "warning: {n} users share the email {email} ignoring case (left unchanged; exact-case matches win at login)"
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail("migration failed", &e),
    }
}

async fn create_superuser(cli: &Cli, default_env: Environment, email: &str) -> ExitCode {
    let (source, settings) = match load(cli, default_env) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let _telemetry = match init_telemetry(&source, &settings.environment) {
        Ok((guard, _)) => guard,
        Err(code) => return code,
    };
    let email = match Email::parse(email) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("userhub: --email: {}", e.msg);
            return ExitCode::from(CONFIG_ERROR);
        }
    };
    let (password, generated) = match std::env::var("USERHUB_SUPERUSER_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (superuser::generate_password(), true),
    };
    if userhub_core::Password::parse(&password).is_err() {
        eprintln!("userhub: USERHUB_SUPERUSER_PASSWORD: must be 8 to 128 characters");
        return ExitCode::from(CONFIG_ERROR);
    }
    let db = match open_db(&settings).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    if let Err(e) = db.migrate().await {
        return fail("migration failed", &e);
    }
    let state = userhub_api::AppState::new(settings, db.clone(), Metrics::new());
    let result = superuser::create_superuser(&state, email.clone(), &password).await;
    db.close().await;
    match result {
        Ok(user) => {
            println!("created superuser {email} (id {})", user.id);
            if generated {
                println!("password: {password}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail("cannot create the superuser", &e),
    }
}

async fn health(cli: &Cli, url: Option<&str>, timeout_seconds: f64) -> ExitCode {
    let (addr, path) = match url {
        Some(url) => {
            let rest = url.strip_prefix("http://").unwrap_or(url);
            match rest.split_once('/') {
                Some((addr, path)) => (addr.to_owned(), format!("/{path}")),
                None => (rest.to_owned(), "/readyz".to_owned()),
            }
        }
        None => {
            let source = match ConfigSource::from_env_and_file(cli.config.as_deref()) {
                Ok(s) => s,
                Err(e) => return config_error(&e),
            };
            let bind = source
                .raw("USERHUB_BIND")
                .unwrap_or("127.0.0.1:8000")
                .replace("0.0.0.0", "127.0.0.1")
                .replace("[::]", "[::1]");
            (bind, "/readyz".to_owned())
        }
    };
    let timeout = Duration::from_secs_f64(timeout_seconds.clamp(0.1, 60.0));
    match healthcheck::check(&addr, &path, timeout).await {
        Ok(status) => {
            println!("ok: {status}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `userhub web`: the UI alone, calling the API at `USERHUB_API_URL`.
async fn web(cli: &Cli) -> ExitCode {
    let source = match ConfigSource::from_env_and_file(cli.config.as_deref()) {
        Ok(source) => source,
        Err(e) => return config_error(&e),
    };
    let settings = match userhub_web::WebSettings::from_source(&source) {
        Ok(settings) => settings,
        Err(e) => return config_error(&e),
    };
    let environment = Environment::from_source(&source, Environment::production());
    let (limits, plan) = match web_transport(&source) {
        Ok(transport) => transport,
        Err(e) => return config_error(&e),
    };
    let bind = match userhub::web::bind_address(&source, environment.is_development()) {
        Ok(bind) => bind,
        Err(e) => return config_error(&e),
    };
    let (telemetry, telemetry_settings) = match init_telemetry(&source, &environment) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let api_url = settings.api_url.clone().unwrap_or_default();
    let metrics = Metrics::http_only();
    let draining = plan.draining.clone();
    let router = match userhub::web::standalone_router(settings, metrics.clone(), draining.clone())
    {
        Ok(router) => router,
        Err(e) => return config_error(&e),
    };
    let listener = match TcpListener::bind(bind).await {
        Ok(l) => l,
        Err(e) => return fail(&format!("cannot listen on {bind}"), &e),
    };
    let admin = match bind_admin(&telemetry_settings).await.and_then(|l| {
        start_admin(l, || {
            userhub::web::standalone_admin_router(metrics, draining)
        })
    }) {
        Ok(admin) => admin,
        Err(code) => return code,
    };
    tracing::info!(address = %bind, admin_address = %telemetry_settings.admin_bind, api_url = %api_url, version = env!("CARGO_PKG_VERSION"), "web UI listening");
    let result =
        userhub::web::run_standalone(router, listener, limits, plan, shutdown::signal()).await;
    if let Some(admin) = admin {
        admin.stop();
    }
    telemetry.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail("server failed", &e),
    }
}

/// `userhub web`'s listener limits and shutdown, from the same variables
/// as the API's (`USERHUB_MAX_CONNECTIONS`, `USERHUB_SHUTDOWN_DELAY_SECONDS`, …).
fn web_transport(source: &ConfigSource) -> Result<(Limits, ShutdownPlan), ConfigError> {
    let limits = Limits {
        connections: ConnectionSettings::load(source)?,
        body_limit_bytes: source.parse_or(
            "USERHUB_BODY_LIMIT_BYTES",
            1024 * 1024,
            "a number of bytes",
        )?,
        body_timeout: source.secs_or("USERHUB_REQUEST_TIMEOUT_SECONDS", Duration::from_secs(30))?,
    };
    let plan = ShutdownPlan {
        draining: Draining::default(),
        delay: source
            .optional_secs("USERHUB_SHUTDOWN_DELAY_SECONDS")?
            .unwrap_or(userhub::app::DEFAULT_SHUTDOWN_DELAY),
        drain: source.secs_or("USERHUB_SHUTDOWN_TIMEOUT_SECONDS", Duration::from_secs(20))?,
    };
    Ok((limits, plan))
}
