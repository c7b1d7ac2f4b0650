//! Configuration sources: built-in defaults, overridden by an optional TOML
//! file, overridden by environment variables. Environment names are the
//! reference's (`SECRET_KEY`, `SMTP_HOST`, …) or, for Userhub's own settings,
//! prefixed `USERHUB_`; a file key is the variable's name lowercased without
//! that prefix (`secret_key`, `bind`). Each crate reads its own keys from the
//! same [`ConfigSource`]; the [`Environment`] is parsed here, once.
//!
//! This crate sits at the bottom of the workspace: it depends on no other
//! Userhub crate, so the domain and telemetry can both read their settings.

mod environment;
mod error;
mod secret;
mod source;

pub use environment::Environment;
pub use error::ConfigError;
pub use secret::Secret;
pub use source::ConfigSource;
