//! Where values come from, in increasing precedence, layered with figment:
//! the section defaults, the TOML file, the environment. An empty variable
//! counts as unset (as in the reference's `.env` files).

use std::collections::BTreeMap;
use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Value;
use figment::{Figment, Provider};
use serde::de::DeserializeOwned;

use crate::environment::Environment;
use crate::error::ConfigError;
use crate::model::{
    ApiConfig, Config, ConnectionSettings, EnvironmentNames, ProjectConfig, ServerConfig,
    TelemetryConfig, WebConfig,
};

const PREFIX: &str = "USERHUB_";

/// The variables read without the `USERHUB_` prefix: the reference
/// template's and OpenTelemetry's. Every other key is `USERHUB_` + its name.
const UNPREFIXED: &[&str] = &[
    "ENVIRONMENT",
    "FASTAPI_ENV",
    "PROJECT_NAME",
    "FRONTEND_HOST",
    "BACKEND_CORS_ORIGINS",
    "SECRET_KEY",
    "SECRET_KEYS_PREVIOUS",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "EMAIL_RESET_TOKEN_EXPIRE_HOURS",
    "DATABASE_URL",
    "POSTGRES_SERVER",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SMTP_TLS",
    "SMTP_SSL",
    "EMAILS_FROM_EMAIL",
    "EMAILS_FROM_NAME",
    "FIRST_SUPERUSER",
    "FIRST_SUPERUSER_PASSWORD",
    "RUST_LOG",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

/// The variable a key stands for (`bind` → `USERHUB_BIND`).
fn variable(key: &str) -> String {
    let upper = key.to_ascii_uppercase();
    if UNPREFIXED.contains(&upper.as_str()) {
        upper
    } else {
        format!("{PREFIX}{upper}")
    }
}

/// The key a variable is read as, if Userhub reads it.
fn key(var: &str) -> Option<String> {
    match var.strip_prefix(PREFIX) {
        Some(rest) => Some(rest.to_ascii_lowercase()),
        None => UNPREFIXED.contains(&var).then(|| var.to_ascii_lowercase()),
    }
}

impl Config {
    /// Reads the process environment over the TOML `file`, if given.
    /// `default_env` is the environment when neither `ENVIRONMENT` nor
    /// `FASTAPI_ENV` names one (`serve`: development; the production
    /// subcommands: a deployed one).
    pub fn load(file: Option<&Path>, default_env: Environment) -> Result<Self, ConfigError> {
        let file = file.map(read_file).transpose()?;
        let vars = Env::raw()
            .filter(|var| key(var.as_str()).is_some())
            .map(|var| key(var.as_str()).unwrap_or_default().into());
        let env = vars
            .iter()
            .map(|(key, value)| (key.into_string(), value))
            .collect();
        Self::layered(
            file.as_ref()
                .map(|(origin, text)| (origin.as_str(), text.as_str())),
            env,
            default_env,
        )
    }

    /// The configuration `env` pairs (variable, value) describe (tests,
    /// embedding). Names Userhub does not read are ignored.
    pub fn from_pairs<'a>(
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
        default_env: Environment,
    ) -> Result<Self, ConfigError> {
        Self::from_file_and_pairs(None, env, default_env)
    }

    /// [`Self::from_pairs`] over the TOML text `file`.
    pub fn from_file_and_pairs<'a>(
        file: Option<&str>,
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
        default_env: Environment,
    ) -> Result<Self, ConfigError> {
        let env = env
            .into_iter()
            .filter_map(|(var, value)| Some((key(var)?, value.to_owned())))
            .collect();
        Self::layered(file.map(|text| ("config file", text)), env, default_env)
    }

    fn layered(
        file: Option<(&str, &str)>,
        mut env: BTreeMap<String, String>,
        default_env: Environment,
    ) -> Result<Self, ConfigError> {
        env.retain(|_, value| !value.is_empty());
        let mut figment = Figment::new();
        if let Some((origin, text)) = file {
            check_toml(origin, text)?;
            figment = figment.merge(Toml::string(text));
        }
        let figment = figment.merge(Serialized::defaults(env));
        let names: EnvironmentNames = extract(&figment)?;
        let mut server: ServerConfig = extract(&figment)?;
        server.connections = extract::<ConnectionSettings>(&figment)?;
        Ok(Self {
            environment: Environment::from_names(
                names.environment.as_deref(),
                names.fastapi_env.as_deref(),
                default_env,
            ),
            project: extract::<ProjectConfig>(&figment)?,
            server,
            api: extract::<ApiConfig>(&figment)?,
            web: extract::<WebConfig>(&figment)?,
            telemetry: extract::<TelemetryConfig>(&figment)?,
        })
    }
}

/// One section, its first bad value reported under its variable's name.
fn extract<T: DeserializeOwned>(figment: &Figment) -> Result<T, ConfigError> {
    figment.extract().map_err(|e| {
        let var = e
            .path
            .last()
            .map_or_else(|| "USERHUB_CONFIG".to_owned(), |key| variable(key));
        let message = match &e.kind {
            figment::error::Kind::Message(message) => message.clone(),
            other => other.to_string(),
        };
        ConfigError::new(var, message)
    })
}

fn read_file(path: &Path) -> Result<(String, String), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            "USERHUB_CONFIG",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    Ok((path.display().to_string(), text))
}

/// The file is TOML with one level of keys.
fn check_toml(origin: &str, text: &str) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::new("USERHUB_CONFIG", message);
    let data = Toml::string(text)
        .data()
        .map_err(|e| invalid(format!("{origin} is not valid TOML: {e}")))?;
    for dict in data.values() {
        if let Some((key, _)) = dict.iter().find(|(_, v)| matches!(v, Value::Dict(..))) {
            return Err(invalid(format!(
                "{origin}: key {key:?}: nested tables are not supported"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ExposeSecret;

    const NONE: [(&str, &str); 0] = [];

    fn production() -> Environment {
        Environment::production()
    }

    #[test]
    fn env_overrides_file_and_file_overrides_default() {
        let config = Config::from_file_and_pairs(
            Some("smtp_port = 25\nbind = \"127.0.0.1:9\"\nproject_name = \"X\"\n"),
            [("SMTP_PORT", "2525"), ("USERHUB_BIND", "")],
            production(),
        )
        .unwrap();
        assert_eq!(config.api.smtp_port, 2525);
        assert_eq!(
            config.server.bind_address,
            Some("127.0.0.1:9".parse().unwrap())
        );
        assert_eq!(config.project.name, "X");
        assert_eq!(config.api.email_reset_token_expire_hours, 48);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = |pairs: &[(&str, &str)]| {
            Config::from_pairs(pairs.iter().copied(), production()).unwrap_err()
        };
        let port = err(&[("SMTP_PORT", "many")]);
        assert_eq!(port.var, "SMTP_PORT");
        assert_eq!(port.message, "expected a port number, got \"many\"");
        assert_eq!(err(&[("SMTP_TLS", "maybe")]).var, "SMTP_TLS");
        assert_eq!(
            err(&[("USERHUB_MAX_CONNECTIONS", "0")]).to_string(),
            "invalid configuration: USERHUB_MAX_CONNECTIONS: must be at least 1"
        );
        assert_eq!(
            err(&[("USERHUB_BODY_LIMIT_BYTES", "lots")]).var,
            "USERHUB_BODY_LIMIT_BYTES"
        );
        let file =
            Config::from_file_and_pairs(Some("keepalive_timeout_seconds = -1"), NONE, production())
                .unwrap_err();
        assert_eq!(file.var, "USERHUB_KEEPALIVE_TIMEOUT_SECONDS");
    }

    #[test]
    fn the_file_must_be_flat_toml() {
        for text in ["bind = ", "[server]\nbind = \"127.0.0.1:1\""] {
            let err = Config::from_file_and_pairs(Some(text), NONE, production()).unwrap_err();
            assert_eq!(err.var, "USERHUB_CONFIG", "{text}");
        }
    }

    #[test]
    fn secrets_are_taken_verbatim() {
        let config = Config::from_pairs(
            [("SECRET_KEY", "1e5"), ("POSTGRES_PASSWORD", "007")],
            production(),
        )
        .unwrap();
        assert_eq!(config.api.secret_key.unwrap().expose_secret(), "1e5");
        assert_eq!(config.api.postgres_password.unwrap().expose_secret(), "007");
    }

    #[test]
    fn lists_accept_commas_json_and_toml_arrays() {
        let config = Config::from_file_and_pairs(
            Some("trusted_proxies = [\"10.0.0.1\", \"10.0.0.2\"]"),
            [("BACKEND_CORS_ORIGINS", r#"["http://c","http://d"]"#)],
            production(),
        )
        .unwrap();
        assert_eq!(config.api.backend_cors_origins, ["http://c", "http://d"]);
        assert_eq!(config.api.trusted_proxies.len(), 2);
        let config = Config::from_pairs(
            [("BACKEND_CORS_ORIGINS", "http://a, http://b")],
            production(),
        )
        .unwrap();
        assert_eq!(config.api.backend_cors_origins, ["http://a", "http://b"]);
    }

    #[test]
    fn durations_and_unprefixed_names() {
        let config = Config::from_pairs(
            [
                ("USERHUB_SHUTDOWN_DELAY_SECONDS", "0"),
                ("USERHUB_API_TIMEOUT_SECONDS", "2.5"),
                ("BIND", "127.0.0.1:1"),
            ],
            production(),
        )
        .unwrap();
        assert_eq!(config.server.shutdown_delay, Some(Duration::ZERO));
        assert_eq!(config.web.api_timeout, Duration::from_millis(2500));
        assert_eq!(
            config.server.bind_address, None,
            "only USERHUB_BIND is read"
        );
        assert_eq!(
            config.server.bind(&config.environment, 8080),
            "0.0.0.0:8080".parse().unwrap()
        );
    }

    #[test]
    fn the_environment_is_parsed_once_from_either_variable() {
        let env = |pairs: &[(&str, &str)]| {
            Config::from_pairs(pairs.iter().copied(), production())
                .unwrap()
                .environment
        };
        assert_eq!(env(&[]), production());
        assert_eq!(env(&[("ENVIRONMENT", "Local")]), Environment::Development);
        assert_eq!(env(&[("FASTAPI_ENV", " DEV ")]), Environment::Development);
        assert_eq!(
            env(&[("ENVIRONMENT", "Staging"), ("FASTAPI_ENV", "dev")]),
            Environment::Deployed("staging".to_owned())
        );
    }
}
