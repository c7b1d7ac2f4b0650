//! Subcommands and their wiring.

mod commands;
mod error;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "userhub",
    version,
    about = "Userhub: users and items service with its web UI"
)]
pub struct Cli {
    /// TOML configuration file (keys: environment variable names lowercased,
    /// without the USERHUB_ prefix). Environment variables override it.
    #[arg(long, global = true, env = "USERHUB_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// API and web UI on one port; SQLite and development defaults.
    Serve,
    /// The REST API alone (production defaults).
    Api,
    /// The web UI alone, calling the API at USERHUB_API_URL.
    Web,
    /// Apply database migrations (adopting a reference database) and exit.
    Migrate,
    /// Create a superuser. The password comes from USERHUB_SUPERUSER_PASSWORD or is generated and printed.
    CreateSuperuser {
        #[arg(long)]
        email: String,
    },
    /// Exit 0 when the local server answers its readiness probe, else 1.
    Healthcheck {
        /// Full URL to probe (default: http://<USERHUB_BIND>/readyz, 0.0.0.0 replaced by 127.0.0.1).
        #[arg(long)]
        url: Option<String>,
        #[arg(long, default_value_t = 3.0)]
        timeout_seconds: f64,
    },
    /// Print the OpenAPI document (JSON).
    Openapi,
}

/// Runs the subcommand; its failure, if any, printed and mapped to the exit
/// code here, in one place.
pub async fn run(cli: Cli) -> ExitCode {
    match commands::dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}
