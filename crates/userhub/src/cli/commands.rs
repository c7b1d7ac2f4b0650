//! What each subcommand does. Exit codes: 0 success, 1 runtime failure,
//! 2 invalid configuration or usage.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;
use userhub::{Application, Mode, healthcheck, shutdown, superuser};
use userhub_core::Email;
use userhub_core::config::{ConfigError, ConfigSource, Environment, Settings};
use userhub_storage::Database;
use userhub_telemetry::Metrics;

use super::{Cli, Command};

const CONFIG_ERROR: u8 = 2;

fn chain(err: &dyn Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

fn fail(context: &str, err: &dyn Error) -> ExitCode {
    tracing::error!(error.chain = %chain(err), "{context}");
    eprintln!("userhub: {context}: {}", chain(err));
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

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let _ = if settings.environment.is_development() {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

pub async fn dispatch(cli: Cli) -> ExitCode {
    let deployed = Environment::Deployed("production".to_owned());
    match &cli.command {
        Command::Serve => serve(&cli, Environment::Development, Mode::AllInOne).await,
        Command::Api => serve(&cli, deployed, Mode::Api).await,
        Command::Web => {
            eprintln!("userhub: the web service is not available in this build yet");
            ExitCode::from(CONFIG_ERROR)
        }
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
    let (_source, settings) = match load(cli, default_env) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    init_logging(&settings);
    let bind = settings.server.bind;
    let listener = match TcpListener::bind(bind).await {
        Ok(l) => l,
        Err(e) => return fail(&format!("cannot listen on {bind}"), &e),
    };
    let app = match Application::build(settings, mode, Metrics::new()).await {
        Ok(app) => app,
        Err(e) => return fail("startup failed", &e),
    };
    tracing::info!(address = %bind, mode = ?mode, version = env!("CARGO_PKG_VERSION"), "listening");
    match app.run(listener, shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail("server failed", &e),
    }
}

async fn open_db(settings: &Settings) -> Result<Database, ExitCode> {
    Database::connect(&settings.database, Metrics::new())
        .await
        .map_err(|e| fail("cannot open the database", &e))
}

async fn migrate(cli: &Cli, default_env: Environment) -> ExitCode {
    let (_source, settings) = match load(cli, default_env) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    init_logging(&settings);
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
    let (_source, settings) = match load(cli, default_env) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    init_logging(&settings);
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
