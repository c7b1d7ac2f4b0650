//! Configuration: built-in defaults, overridden by an optional TOML file,
//! overridden by environment variables. Environment names are the
//! reference's (`SECRET_KEY`, `SMTP_HOST`, …) or, for Userhub's own settings,
//! prefixed `USERHUB_`; a file key is the variable's name lowercased without
//! that prefix (`secret_key`, `bind`). Each crate reads its own keys from the
//! same [`ConfigSource`].

mod error;
mod secret;
mod settings;
mod source;

pub use error::ConfigError;
pub use secret::Secret;
pub use settings::{
    ConnectionSettings, DatabaseSettings, Environment, MailSettings, RateLimitSettings,
    ServerSettings, Settings, optional_secs,
};
pub use source::ConfigSource;
