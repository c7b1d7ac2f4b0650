//! The service's typed settings, read from a [`ConfigSource`] (see
//! `userhub-config` for the sources and their precedence).

mod settings;

pub use settings::{
    ConnectionSettings, DatabaseSettings, MailSettings, RateLimitSettings, ServerSettings, Settings,
};
pub use userhub_config::{ConfigError, ConfigSource, Environment, Secret};
