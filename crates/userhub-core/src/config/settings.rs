//! The service's typed settings: the API's section of the [`Config`],
//! checked and completed (the development key, the database URL).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use rand::RngCore;

use super::{Config, ConfigError, Environment, ExposeSecret, Secret};
use crate::Email;

/// The placeholder the reference ships; refused outside development.
pub const PLACEHOLDER: &str = "changethis";

/// Well-known placeholder secrets: refused outside development, and in
/// development refused as `SECRET_KEY` unless the listener is loopback.
pub const KNOWN_PLACEHOLDERS: &[&str] = &[
    PLACEHOLDER,
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "secret",
    "secret-key",
    "secret_key",
    "secretkey",
    "your-secret-key",
    "your_secret_key",
    "mysecret",
    "password",
    "default",
    "test",
    "dev",
];

/// Shortest `SECRET_KEY` (and previous key) accepted outside development,
/// in bytes: HS256 keys shorter than the hash are brute-forceable.
pub const MIN_SECRET_KEY_BYTES: usize = 32;

/// The API's port when `USERHUB_BIND` is unset.
pub const DEFAULT_PORT: u16 = 8000;

/// Whether `value` is one of [`KNOWN_PLACEHOLDERS`] (ignoring case and
/// surrounding space).
pub fn is_known_placeholder(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    KNOWN_PLACEHOLDERS.contains(&v.as_str())
}

/// Request handling (the listener itself is the configuration's `server`).
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `USERHUB_REQUEST_TIMEOUT_SECONDS`.
    pub request_timeout: Duration,
    /// `USERHUB_BODY_LIMIT_BYTES`.
    pub body_limit_bytes: usize,
    /// `USERHUB_HASH_CONCURRENCY`: password hashes computed at once.
    pub hash_concurrency: usize,
    /// `FRONTEND_HOST` plus `BACKEND_CORS_ORIGINS`, without trailing slashes.
    pub cors_origins: Vec<String>,
    /// `USERHUB_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

/// Database connection and pool.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `DATABASE_URL` (or built from `POSTGRES_*`); SQLite file in the data
    /// directory when unset.
    pub url: Secret,
    /// `USERHUB_DB_POOL_SIZE`.
    pub pool_size: u32,
    /// `USERHUB_DB_ACQUIRE_TIMEOUT_SECONDS`.
    pub acquire_timeout: Duration,
    /// `USERHUB_MIGRATE_ON_START`.
    pub migrate_on_start: bool,
}

/// SMTP; mail is enabled only when `SMTP_HOST` and `EMAILS_FROM_EMAIL` are set.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub host: Option<String>,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub tls: bool,
    pub ssl: bool,
    pub from_email: Option<String>,
    pub from_name: Option<String>,
    /// `USERHUB_SMTP_TIMEOUT_SECONDS`.
    pub timeout: Duration,
}

impl MailSettings {
    pub fn enabled(&self) -> bool {
        self.host.is_some() && self.from_email.is_some()
    }
}

/// Login and password-recovery throttling.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// `USERHUB_LOGIN_MAX_FAILURES` per account within the window.
    pub login_max_failures: u32,
    /// `USERHUB_LOGIN_FAILURE_WINDOW_SECONDS`.
    pub login_failure_window: Duration,
    /// `USERHUB_IP_BURST`: token-bucket size per client IP.
    pub ip_burst: u32,
    /// `USERHUB_IP_REFILL_PER_SECOND`.
    pub ip_refill_per_second: f64,
    /// `USERHUB_RECOVERY_EMAILS_PER_HOUR`: password-recovery emails one
    /// recipient may receive per hour (per replica).
    pub recovery_emails_per_hour: u32,
}

/// Everything the service needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub project_name: String,
    /// `USERHUB_DATA_DIR`: SQLite database and the generated development key.
    pub data_dir: PathBuf,
    pub secret_key: Secret,
    /// `SECRET_KEYS_PREVIOUS`: keys that still verify tokens (rotation),
    /// never sign.
    pub previous_secret_keys: Vec<Secret>,
    /// True when `SECRET_KEY` was generated (development only).
    pub secret_key_generated: bool,
    pub access_token_expire_minutes: i64,
    pub email_reset_token_expire_hours: i64,
    /// `FRONTEND_HOST`: base of links in emails, and a CORS origin.
    pub frontend_host: String,
    pub first_superuser: Option<Email>,
    pub first_superuser_password: Option<Secret>,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub mail: MailSettings,
    pub rate_limit: RateLimitSettings,
}

impl Settings {
    /// The service's settings from `config` (its environment, `project`,
    /// `server` and `api` sections). May create the data directory and, in
    /// development, a persisted `SECRET_KEY`.
    pub fn load(config: &Config) -> Result<Self, ConfigError> {
        let api = &config.api;
        let environment = config.environment.clone();
        let data_dir = PathBuf::from(api.data_dir.as_deref().unwrap_or("data"));

        let (secret_key, secret_key_generated) = match &api.secret_key {
            Some(k) => (k.clone(), false),
            None if environment.is_development() => (load_or_create_dev_key(&data_dir)?, true),
            None => {
                return Err(ConfigError::new(
                    "SECRET_KEY",
                    "required outside development (for example: openssl rand -base64 32)",
                ));
            }
        };

        let frontend_host = config.project.frontend_host.clone();
        let mut cors_origins = vec![frontend_host.clone()];
        for origin in &api.backend_cors_origins {
            let origin = origin.trim_end_matches('/').to_owned();
            if !cors_origins.contains(&origin) {
                cors_origins.push(origin);
            }
        }
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let server = ServerSettings {
            request_timeout: config.server.request_timeout,
            body_limit_bytes: config.server.body_limit_bytes,
            hash_concurrency: api.hash_concurrency.unwrap_or(cpus),
            cors_origins,
            trusted_proxies: api.trusted_proxies.clone(),
        };

        let database = DatabaseSettings {
            url: database_url(config, &data_dir)?,
            pool_size: api.db_pool_size,
            acquire_timeout: api.db_acquire_timeout,
            migrate_on_start: api.migrate_on_start,
        };

        let mail = MailSettings {
            host: api.smtp_host.clone(),
            port: api.smtp_port,
            user: api.smtp_user.clone(),
            password: api.smtp_password.clone(),
            tls: api.smtp_tls.unwrap_or(true),
            ssl: api.smtp_ssl,
            from_email: api.emails_from_email.clone(),
            from_name: api.emails_from_name.clone(),
            timeout: api.smtp_timeout,
        };
        if api.smtp_tls == Some(true) && mail.ssl {
            return Err(ConfigError::new(
                "SMTP_SSL",
                "SMTP_TLS (STARTTLS) and SMTP_SSL (implicit TLS) cannot both be true",
            ));
        }
        if let Some(from) = &mail.from_email {
            Email::parse(from).map_err(|e| ConfigError::new("EMAILS_FROM_EMAIL", e.msg))?;
        }

        let rate_limit = RateLimitSettings {
            login_max_failures: api.login_max_failures,
            login_failure_window: api.login_failure_window,
            ip_burst: api.ip_burst,
            ip_refill_per_second: api.ip_refill_per_second,
            recovery_emails_per_hour: api.recovery_emails_per_hour,
        };

        let first_superuser = match &api.first_superuser {
            Some(raw) => {
                Some(Email::parse(raw).map_err(|e| ConfigError::new("FIRST_SUPERUSER", e.msg))?)
            }
            None => None,
        };
        let first_superuser_password = api.first_superuser_password.clone();
        if let Some(p) = &first_superuser_password
            && crate::Password::parse(p.expose_secret()).is_err()
        {
            return Err(ConfigError::new(
                "FIRST_SUPERUSER_PASSWORD",
                "must be 8 to 128 characters",
            ));
        }

        let settings = Self {
            project_name: config.project.name.clone(),
            access_token_expire_minutes: api.access_token_expire_minutes as i64,
            email_reset_token_expire_hours: api.email_reset_token_expire_hours as i64,
            environment,
            data_dir,
            secret_key,
            previous_secret_keys: api.secret_keys_previous.clone(),
            secret_key_generated,
            frontend_host,
            first_superuser,
            first_superuser_password,
            server,
            database,
            mail,
            rate_limit,
        };
        settings.refuse_placeholders(config)?;
        settings.refuse_weak_keys(config.server.bind(&config.environment, DEFAULT_PORT))?;
        Ok(settings)
    }

    /// Outside development `SECRET_KEY` and every previous key must be at
    /// least [`MIN_SECRET_KEY_BYTES`] long; in development a known
    /// placeholder key is only allowed on a loopback listener (`bind`).
    fn refuse_weak_keys(&self, bind: SocketAddr) -> Result<(), ConfigError> {
        if self.environment.is_development() {
            if is_known_placeholder(self.secret_key.expose_secret()) && !bind.ip().is_loopback() {
                return Err(ConfigError::new(
                    "SECRET_KEY",
                    format!(
                        "is a known placeholder and USERHUB_BIND ({bind}) is not a loopback address; set a real secret (openssl rand -base64 32) or bind to 127.0.0.1"
                    ),
                ));
            }
            return Ok(());
        }
        let short = |var: &str, len: usize| {
            ConfigError::new(
                var,
                format!(
                    "must be at least {MIN_SECRET_KEY_BYTES} bytes outside development, got {len} (for example: openssl rand -base64 32)"
                ),
            )
        };
        let len = self.secret_key.expose_secret().len();
        if len < MIN_SECRET_KEY_BYTES || is_known_placeholder(self.secret_key.expose_secret()) {
            return Err(short("SECRET_KEY", len));
        }
        for key in &self.previous_secret_keys {
            if key.expose_secret().len() < MIN_SECRET_KEY_BYTES {
                return Err(short("SECRET_KEYS_PREVIOUS", key.expose_secret().len()));
            }
        }
        Ok(())
    }

    /// Outside development, the reference's placeholder secret is refused.
    fn refuse_placeholders(&self, config: &Config) -> Result<(), ConfigError> {
        if self.environment.is_development() {
            return Ok(());
        }
        let placeholder = |var: &str| {
            ConfigError::new(
                var,
                format!(
                    "is the placeholder {PLACEHOLDER:?}; set a real secret outside development"
                ),
            )
        };
        if self.secret_key.expose_secret() == PLACEHOLDER {
            return Err(placeholder("SECRET_KEY"));
        }
        if self
            .first_superuser_password
            .as_ref()
            .is_some_and(|p| p.expose_secret() == PLACEHOLDER)
        {
            return Err(placeholder("FIRST_SUPERUSER_PASSWORD"));
        }
        if config
            .api
            .postgres_password
            .as_ref()
            .map(Secret::expose_secret)
            == Some(PLACEHOLDER)
        {
            return Err(placeholder("POSTGRES_PASSWORD"));
        }
        if url_password(self.database.url.expose_secret()).as_deref() == Some(PLACEHOLDER) {
            return Err(placeholder("DATABASE_URL"));
        }
        Ok(())
    }

    /// Whether the database is PostgreSQL (else SQLite).
    pub fn is_postgres(&self) -> bool {
        let url = self.database.url.expose_secret();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }
}

fn database_url(config: &Config, data_dir: &Path) -> Result<Secret, ConfigError> {
    let api = &config.api;
    if let Some(url) = &api.database_url {
        let ok = ["postgres://", "postgresql://", "sqlite:"]
            .iter()
            .any(|p| url.expose_secret().starts_with(p));
        if !ok {
            return Err(ConfigError::new(
                "DATABASE_URL",
                "expected a postgres://, postgresql:// or sqlite: URL",
            ));
        }
        return Ok(url.clone());
    }
    if let Some(server) = &api.postgres_server {
        let user = api.postgres_user.as_deref().unwrap_or("postgres");
        let password = api
            .postgres_password
            .as_ref()
            .map_or("", Secret::expose_secret);
        let db = api.postgres_db.as_deref().unwrap_or("app");
        return Ok(Secret::from(format!(
            "postgres://{}:{}@{server}:{}/{db}",
            encode(user),
            encode(password),
            api.postgres_port
        )));
    }
    Ok(Secret::from(format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("userhub.db").display()
    )))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split_once('@')?.0;
    Some(userinfo.split_once(':')?.1.to_owned())
}

fn load_or_create_dev_key(data_dir: &Path) -> Result<Secret, ConfigError> {
    let path = data_dir.join("secret_key");
    let io_err = |e: std::io::Error| {
        ConfigError::new(
            "USERHUB_DATA_DIR",
            format!("cannot use {}: {e}", path.display()),
        )
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let key = existing.trim();
        if !key.is_empty() {
            return Ok(Secret::from(key));
        }
    }
    create_private_dir(data_dir).map_err(io_err)?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    write_private(&path, &key).map_err(io_err)?;
    Ok(Secret::from(key))
}

/// `create_dir_all`, the directories it creates `0700` (the data directory
/// holds the key and the SQLite database).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        default_env: Environment,
    ) -> Result<Settings, ConfigError> {
        Settings::load(&Config::from_pairs(pairs, default_env)?)
    }

    fn deployed<'a>(
        extra: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Settings, ConfigError> {
        let mut pairs = vec![
            ("SECRET_KEY", "a-real-secret-0123456789abcdef0123"),
            ("ENVIRONMENT", "production"),
        ];
        pairs.extend(extra);
        load(pairs, Environment::Deployed("production".into()))
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = deployed([]).unwrap();
        assert_eq!(s.access_token_expire_minutes, 11_520);
        assert_eq!(s.email_reset_token_expire_hours, 48);
        assert_eq!(s.mail.port, 587);
        assert!(s.mail.tls && !s.mail.ssl && !s.mail.enabled());
        assert_eq!(s.rate_limit.login_max_failures, 10);
        assert_eq!(s.rate_limit.ip_burst, 300);
        assert!(!s.is_postgres());
    }

    #[test]
    fn placeholders_are_refused_outside_development() {
        assert_eq!(
            deployed([("SECRET_KEY", "changethis")]).unwrap_err().var,
            "SECRET_KEY"
        );
        assert_eq!(
            deployed([("FIRST_SUPERUSER_PASSWORD", "changethis")])
                .unwrap_err()
                .var,
            "FIRST_SUPERUSER_PASSWORD"
        );
        assert_eq!(
            deployed([
                ("POSTGRES_SERVER", "db"),
                ("POSTGRES_PASSWORD", "changethis")
            ])
            .unwrap_err()
            .var,
            "POSTGRES_PASSWORD"
        );
        assert_eq!(
            deployed([("DATABASE_URL", "postgres://u:changethis@db/app")])
                .unwrap_err()
                .var,
            "DATABASE_URL"
        );
    }

    #[test]
    fn short_keys_are_refused_outside_development() {
        let err = deployed([("SECRET_KEY", "a")]).unwrap_err();
        assert_eq!(err.var, "SECRET_KEY");
        assert!(err.message.contains("32 bytes"), "{}", err.message);
        assert!(deployed([("SECRET_KEY", "k".repeat(31).as_str())]).is_err());
        assert!(deployed([("SECRET_KEY", "k".repeat(32).as_str())]).is_ok());
        assert_eq!(
            deployed([("SECRET_KEYS_PREVIOUS", "short")])
                .unwrap_err()
                .var,
            "SECRET_KEYS_PREVIOUS"
        );
        let s = deployed([(
            "SECRET_KEYS_PREVIOUS",
            "old-key-one-0123456789abcdef0123456789,old-key-two-0123456789abcdef0123456789",
        )])
        .unwrap();
        assert_eq!(s.previous_secret_keys.len(), 2);
        // Development keeps short keys working (local use only).
        let dev = load(
            [("SECRET_KEY", "a"), ("ENVIRONMENT", "local")],
            Environment::Development,
        );
        assert!(dev.is_ok());
    }

    #[test]
    fn placeholder_key_needs_a_loopback_listener_in_development() {
        let dir = tempfile::tempdir().unwrap();
        let dir_s = dir.path().to_str().unwrap();
        let load = |bind: &'static str, key: &'static str| {
            load(
                [
                    ("SECRET_KEY", key),
                    ("USERHUB_BIND", bind),
                    ("USERHUB_DATA_DIR", dir_s),
                ],
                Environment::Development,
            )
        };
        assert!(load("127.0.0.1:8000", "changethis").is_ok());
        assert!(load("[::1]:8000", "changethis").is_ok());
        let err = load("0.0.0.0:8000", "changethis").unwrap_err();
        assert_eq!(err.var, "SECRET_KEY");
        assert!(err.message.contains("placeholder"), "{}", err.message);
        assert!(load("192.0.2.10:8000", "ChangeMe").is_err());
        assert!(load("0.0.0.0:8000", "a-real-development-key").is_ok());
    }

    #[test]
    fn secret_key_is_required_outside_development() {
        assert_eq!(
            load([("ENVIRONMENT", "staging")], Environment::Development)
                .unwrap_err()
                .var,
            "SECRET_KEY"
        );
    }

    #[test]
    fn development_generates_and_persists_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let dir_s = dir.path().to_str().unwrap();
        let pairs = [("USERHUB_DATA_DIR", dir_s), ("SECRET_KEY", "")];
        let a = load(pairs, Environment::Development).unwrap();
        let b = load(pairs, Environment::Development).unwrap();
        assert!(a.secret_key_generated);
        assert_eq!(a.secret_key.expose_secret(), b.secret_key.expose_secret());
        assert!(a.secret_key.expose_secret().len() >= 40);
        assert!(a.database.url.expose_secret().starts_with("sqlite://"));
    }

    #[test]
    fn fastapi_env_and_local_are_development() {
        let pairs = [("FASTAPI_ENV", "local"), ("SECRET_KEY", "changethis")];
        assert!(
            load(pairs, Environment::Deployed("x".into()))
                .unwrap()
                .environment
                .is_development()
        );
    }

    #[test]
    fn postgres_parts_build_a_url() {
        let s = deployed([
            ("POSTGRES_SERVER", "db"),
            ("POSTGRES_USER", "app"),
            ("POSTGRES_PASSWORD", "p@ss"),
            ("POSTGRES_DB", "app"),
        ])
        .unwrap();
        assert_eq!(
            s.database.url.expose_secret(),
            "postgres://app:p%40ss@db:5432/app"
        );
        assert!(s.is_postgres());
    }

    #[test]
    fn invalid_values_name_the_variable() {
        assert_eq!(
            deployed([("USERHUB_BIND", "nope")]).unwrap_err().var,
            "USERHUB_BIND"
        );
        assert_eq!(
            deployed([("FIRST_SUPERUSER", "not-an-email")])
                .unwrap_err()
                .var,
            "FIRST_SUPERUSER"
        );
        assert_eq!(
            deployed([("DATABASE_URL", "mysql://x")]).unwrap_err().var,
            "DATABASE_URL"
        );
        assert_eq!(
            deployed([("USERHUB_DB_POOL_SIZE", "0")]).unwrap_err().var,
            "USERHUB_DB_POOL_SIZE"
        );
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let s = deployed([
            ("SMTP_PASSWORD", "smtp-secret"),
            ("DATABASE_URL", "postgres://u:dbpw@h/d"),
        ])
        .unwrap();
        let dbg = format!("{s:?}");
        for secret in ["a-real-secret", "smtp-secret", "dbpw"] {
            assert!(!dbg.contains(secret), "{secret} leaked");
        }
    }
}
