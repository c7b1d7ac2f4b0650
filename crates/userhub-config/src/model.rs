//! The configuration model: one struct per section, each field named by its
//! file key (the variable lowercased, without `USERHUB_`), its default in
//! the section's `Default`, its parsing in [`crate::de`].

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use crate::de;
use crate::environment::Environment;
use crate::secret::Secret;

/// Everything Userhub reads, loaded once (see [`Config::load`]).
#[derive(Debug, Clone)]
pub struct Config {
    /// `ENVIRONMENT` / `FASTAPI_ENV`, or the subcommand's default.
    pub environment: Environment,
    pub project: ProjectConfig,
    pub server: ServerConfig,
    pub api: ApiConfig,
    pub web: WebConfig,
    pub telemetry: TelemetryConfig,
}

/// The raw environment names (resolved into [`Config::environment`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct EnvironmentNames {
    #[serde(deserialize_with = "de::string")]
    pub environment: Option<String>,
    #[serde(deserialize_with = "de::string")]
    pub fastapi_env: Option<String>,
}

/// What the API and the UI both show or link to.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ProjectConfig {
    /// `PROJECT_NAME` (default `Userhub`): in titles and emails.
    #[serde(rename = "project_name", deserialize_with = "de::plain")]
    pub name: String,
    /// `FRONTEND_HOST`, without trailing slashes: links in emails, a CORS
    /// origin, and whether the session cookie is `Secure`.
    #[serde(deserialize_with = "de::origin")]
    pub frontend_host: String,
}

impl Default for ProjectConfig {
    fn default() -> Self {
        Self {
            name: "Userhub".to_owned(),
            frontend_host: "http://localhost:8000".to_owned(),
        }
    }
}

/// The listener of `serve`, `api` and `web`: address, limits, shutdown.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// `USERHUB_BIND`; unset: the subcommand's port on loopback in
    /// development, on every interface elsewhere (see [`Self::bind`]).
    #[serde(rename = "bind", deserialize_with = "de::listen_address")]
    pub bind_address: Option<SocketAddr>,
    /// `USERHUB_SHUTDOWN_TIMEOUT_SECONDS`: drain deadline after SIGTERM.
    #[serde(rename = "shutdown_timeout_seconds", deserialize_with = "de::secs")]
    pub shutdown_timeout: Duration,
    /// `USERHUB_SHUTDOWN_DELAY_SECONDS`: after SIGTERM, how long `/readyz`
    /// fails while requests are still served, before the drain. `None`:
    /// the subcommand's default (5 s for `api` and `web`, 0 for `serve`).
    #[serde(
        rename = "shutdown_delay_seconds",
        deserialize_with = "de::optional_secs"
    )]
    pub shutdown_delay: Option<Duration>,
    /// `USERHUB_REQUEST_TIMEOUT_SECONDS`.
    #[serde(rename = "request_timeout_seconds", deserialize_with = "de::secs")]
    pub request_timeout: Duration,
    /// `USERHUB_BODY_LIMIT_BYTES`.
    #[serde(deserialize_with = "de::bytes")]
    pub body_limit_bytes: usize,
    /// Connection limits (a section of their own: the transport takes them).
    #[serde(skip)]
    pub connections: ConnectionSettings,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind_address: None,
            shutdown_timeout: Duration::from_secs(20),
            shutdown_delay: None,
            request_timeout: Duration::from_secs(30),
            body_limit_bytes: 1024 * 1024,
            connections: ConnectionSettings::default(),
        }
    }
}

impl ServerConfig {
    /// `USERHUB_BIND`, else `port` on 127.0.0.1 in development and on
    /// 0.0.0.0 elsewhere.
    pub fn bind(&self, environment: &Environment, port: u16) -> SocketAddr {
        self.bind_address.unwrap_or_else(|| {
            let ip = if environment.is_development() {
                [127, 0, 0, 1]
            } else {
                [0, 0, 0, 0]
            };
            SocketAddr::from((ip, port))
        })
    }
}

/// Limits on client connections (shared by `serve`, `api` and `web`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ConnectionSettings {
    /// `USERHUB_HEADER_READ_TIMEOUT_SECONDS`: a new connection must deliver
    /// a complete request head within it, and so must a keep-alive
    /// connection once it starts sending the next request.
    #[serde(rename = "header_read_timeout_seconds", deserialize_with = "de::secs")]
    pub header_read_timeout: Duration,
    /// `USERHUB_KEEPALIVE_TIMEOUT_SECONDS`: an idle keep-alive connection
    /// (no request in progress) is closed after it.
    #[serde(rename = "keepalive_timeout_seconds", deserialize_with = "de::secs")]
    pub keepalive_timeout: Duration,
    /// `USERHUB_MAX_CONNECTIONS`: connections served at once; further
    /// clients wait in the listen backlog (never refused by a crash).
    #[serde(deserialize_with = "de::positive")]
    pub max_connections: usize,
    /// `USERHUB_MAX_IN_FLIGHT_REQUESTS`: requests handled at once; beyond
    /// it a request is answered 503 with `Retry-After` before any work
    /// (health probes excepted).
    #[serde(deserialize_with = "de::positive")]
    pub max_in_flight_requests: usize,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(75),
            max_connections: 4096,
            max_in_flight_requests: 512,
        }
    }
}

/// The API's values (checked and completed by `userhub-core`'s `Settings`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ApiConfig {
    /// `USERHUB_DATA_DIR`: SQLite database and the generated development key.
    #[serde(deserialize_with = "de::string")]
    pub data_dir: Option<String>,
    #[serde(deserialize_with = "de::secret")]
    pub secret_key: Option<Secret>,
    /// `SECRET_KEYS_PREVIOUS`: keys that still verify tokens, never sign.
    #[serde(deserialize_with = "de::secret_list")]
    pub secret_keys_previous: Vec<Secret>,
    #[serde(deserialize_with = "de::positive")]
    pub access_token_expire_minutes: usize,
    #[serde(deserialize_with = "de::positive")]
    pub email_reset_token_expire_hours: usize,
    #[serde(deserialize_with = "de::list")]
    pub backend_cors_origins: Vec<String>,
    /// `USERHUB_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed.
    #[serde(deserialize_with = "de::ip_list")]
    pub trusted_proxies: Vec<IpAddr>,
    /// `USERHUB_HASH_CONCURRENCY`; unset: the number of CPUs.
    #[serde(deserialize_with = "de::optional_positive")]
    pub hash_concurrency: Option<usize>,
    #[serde(deserialize_with = "de::secret")]
    pub database_url: Option<Secret>,
    #[serde(deserialize_with = "de::string")]
    pub postgres_server: Option<String>,
    #[serde(deserialize_with = "de::port")]
    pub postgres_port: u16,
    #[serde(deserialize_with = "de::string")]
    pub postgres_user: Option<String>,
    #[serde(deserialize_with = "de::secret")]
    pub postgres_password: Option<Secret>,
    #[serde(deserialize_with = "de::string")]
    pub postgres_db: Option<String>,
    #[serde(deserialize_with = "de::positive_u32")]
    pub db_pool_size: u32,
    #[serde(rename = "db_acquire_timeout_seconds", deserialize_with = "de::secs")]
    pub db_acquire_timeout: Duration,
    #[serde(deserialize_with = "de::flag")]
    pub migrate_on_start: bool,
    #[serde(deserialize_with = "de::string")]
    pub smtp_host: Option<String>,
    #[serde(deserialize_with = "de::port")]
    pub smtp_port: u16,
    #[serde(deserialize_with = "de::string")]
    pub smtp_user: Option<String>,
    #[serde(deserialize_with = "de::secret")]
    pub smtp_password: Option<Secret>,
    /// `SMTP_TLS`: `None` when unset (STARTTLS, the default).
    #[serde(deserialize_with = "de::optional_flag")]
    pub smtp_tls: Option<bool>,
    #[serde(deserialize_with = "de::flag")]
    pub smtp_ssl: bool,
    #[serde(deserialize_with = "de::string")]
    pub emails_from_email: Option<String>,
    #[serde(deserialize_with = "de::string")]
    pub emails_from_name: Option<String>,
    /// `USERHUB_SMTP_TIMEOUT_SECONDS`.
    #[serde(rename = "smtp_timeout_seconds", deserialize_with = "de::secs")]
    pub smtp_timeout: Duration,
    #[serde(deserialize_with = "de::positive_u32")]
    pub login_max_failures: u32,
    #[serde(rename = "login_failure_window_seconds", deserialize_with = "de::secs")]
    pub login_failure_window: Duration,
    #[serde(deserialize_with = "de::positive_u32")]
    pub ip_burst: u32,
    #[serde(deserialize_with = "de::positive_number")]
    pub ip_refill_per_second: f64,
    #[serde(deserialize_with = "de::positive_u32")]
    pub recovery_emails_per_hour: u32,
    #[serde(deserialize_with = "de::string")]
    pub first_superuser: Option<String>,
    #[serde(deserialize_with = "de::secret")]
    pub first_superuser_password: Option<Secret>,
    /// `USERHUB_SUPERUSER_PASSWORD`: for `userhub create-superuser`.
    #[serde(deserialize_with = "de::secret")]
    pub superuser_password: Option<Secret>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            data_dir: None,
            secret_key: None,
            secret_keys_previous: Vec::new(),
            access_token_expire_minutes: 11_520,
            email_reset_token_expire_hours: 48,
            backend_cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            hash_concurrency: None,
            database_url: None,
            postgres_server: None,
            postgres_port: 5432,
            postgres_user: None,
            postgres_password: None,
            postgres_db: None,
            db_pool_size: 10,
            db_acquire_timeout: Duration::from_secs(5),
            migrate_on_start: true,
            smtp_host: None,
            smtp_port: 587,
            smtp_user: None,
            smtp_password: None,
            smtp_tls: None,
            smtp_ssl: false,
            emails_from_email: None,
            emails_from_name: None,
            smtp_timeout: Duration::from_secs(10),
            login_max_failures: 10,
            login_failure_window: Duration::from_secs(900),
            ip_burst: 300,
            ip_refill_per_second: 1.0,
            recovery_emails_per_hour: 5,
            first_superuser: None,
            first_superuser_password: None,
            superuser_password: None,
        }
    }
}

/// The web UI's values (checked and completed by `userhub-web`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebConfig {
    /// `USERHUB_API_URL`: the API's base URL in split mode.
    #[serde(deserialize_with = "de::string")]
    pub api_url: Option<String>,
    /// `USERHUB_API_TIMEOUT_SECONDS`: deadline of one API call.
    #[serde(rename = "api_timeout_seconds", deserialize_with = "de::secs")]
    pub api_timeout: Duration,
    /// `USERHUB_COOKIE_KEY`: signs the session cookie.
    #[serde(deserialize_with = "de::secret")]
    pub cookie_key: Option<Secret>,
    /// `USERHUB_COOKIE_SECURE`: force the cookie's `Secure` attribute.
    #[serde(deserialize_with = "de::optional_flag")]
    pub cookie_secure: Option<bool>,
    /// `USERHUB_SESSION_MAX_AGE_SECONDS`.
    #[serde(rename = "session_max_age_seconds", deserialize_with = "de::secs")]
    pub session_max_age: Duration,
    /// `USERHUB_WEB_PAGE_SIZE`: rows per page in lists.
    #[serde(rename = "web_page_size", deserialize_with = "de::whole_number")]
    pub page_size: u32,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            api_url: None,
            api_timeout: Duration::from_secs(10),
            cookie_key: None,
            cookie_secure: None,
            session_max_age: Duration::from_secs(8 * 86_400),
            page_size: 10,
        }
    }
}

/// Logs, metrics and traces (interpreted by `userhub-telemetry`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TelemetryConfig {
    /// `USERHUB_ADMIN_BIND`; `None`: the default admin address.
    #[serde(deserialize_with = "de::admin_address")]
    pub admin_bind: Option<SocketAddr>,
    /// `USERHUB_LOG_FORMAT`.
    #[serde(deserialize_with = "de::string")]
    pub log_format: Option<String>,
    /// `RUST_LOG`.
    #[serde(deserialize_with = "de::string")]
    pub rust_log: Option<String>,
    #[serde(deserialize_with = "de::string")]
    pub otel_service_name: Option<String>,
    #[serde(deserialize_with = "de::string")]
    pub otel_resource_attributes: Option<String>,
    #[serde(deserialize_with = "de::string")]
    pub otel_traces_sampler: Option<String>,
    #[serde(deserialize_with = "de::ratio")]
    pub otel_traces_sampler_arg: Option<f64>,
    #[serde(deserialize_with = "de::string")]
    pub otel_exporter_otlp_endpoint: Option<String>,
    #[serde(deserialize_with = "de::string")]
    pub otel_exporter_otlp_protocol: Option<String>,
}
