//! Userhub's configuration: one serde model ([`Config`]) loaded once per
//! process from built-in defaults, overridden by an optional TOML file,
//! overridden by environment variables (layered with `figment`).
//! Environment names are the reference's (`SECRET_KEY`, `SMTP_HOST`, …) or,
//! for Userhub's own settings, prefixed `USERHUB_`; a file key is the
//! variable's name lowercased without that prefix (`secret_key`, `bind`).
//!
//! Every value is parsed here, once, into its section (`server`, `api`,
//! `web`, `telemetry`); the [`Environment`] too. The crates then check what
//! only they understand (an email address, a log filter) when they turn
//! their section into their settings.
//!
//! This crate sits at the bottom of the workspace: it depends on no other
//! Userhub crate, so the domain and telemetry can both read their settings.

mod de;
mod environment;
mod error;
mod layers;
mod model;
mod secret;

pub use environment::Environment;
pub use error::ConfigError;
pub use model::{
    ApiConfig, Config, ConnectionSettings, ProjectConfig, ServerConfig, TelemetryConfig, WebConfig,
};
pub use secret::{ExposeSecret, Secret};
