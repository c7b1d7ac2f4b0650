//! The service's typed settings, made from the API's section of the one
//! [`Config`] (see `userhub-config` for the sources and their precedence).

mod settings;

pub use settings::{
    DEFAULT_PORT, DatabaseSettings, MailSettings, RateLimitSettings, ServerSettings, Settings,
};
pub use userhub_config::{
    Config, ConfigError, ConnectionSettings, Environment, ExposeSecret, Secret,
};
