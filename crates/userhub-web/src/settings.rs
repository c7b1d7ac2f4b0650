//! The web service's own settings: the `web` section of the one
//! [`Config`], checked and completed (the cookie key).

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use userhub_core::config::{Config, ConfigError, Environment, ExposeSecret, Secret};

/// Shortest accepted `USERHUB_COOKIE_KEY`, in bytes.
pub const MIN_COOKIE_KEY_BYTES: usize = 32;

/// Settings of the `web` service (documented in `docs/ui.md`).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// `USERHUB_API_URL`: base URL of the API in split mode, without a
    /// trailing slash (e.g. `http://127.0.0.1:8000`). Unused in `serve`.
    pub api_url: Option<String>,
    /// `USERHUB_API_TIMEOUT_SECONDS` (default 10): deadline of one API call.
    pub api_timeout: Duration,
    /// `USERHUB_COOKIE_KEY`: the session cookie's key is derived from it (at
    /// least 32 bytes; see [`crate::cookie`]).
    pub cookie_key: Secret,
    /// True when the key was derived from `SECRET_KEY` (development only).
    pub cookie_key_derived: bool,
    /// `USERHUB_COOKIE_SECURE`: force the cookie's `Secure` attribute on or
    /// off; unset means "when `FRONTEND_HOST` or `X-Forwarded-Proto` is https".
    pub cookie_secure: Option<bool>,
    /// `USERHUB_SESSION_MAX_AGE_SECONDS` (default 8 days, the token lifetime).
    pub session_max_age: Duration,
    /// `USERHUB_WEB_PAGE_SIZE` (default 10): rows per page in lists.
    pub page_size: u32,
    /// `PROJECT_NAME` (default `Userhub`): shown in titles.
    pub project_name: String,
    /// `FRONTEND_HOST`: whether it is https decides the cookie's `Secure`.
    pub frontend_host: String,
}

impl WebSettings {
    /// The UI's settings from `config`. `secret_key` (the service's
    /// `SECRET_KEY`, possibly generated in development) is the source of the
    /// cookie key in development when `USERHUB_COOKIE_KEY` is unset; outside
    /// development the cookie key is required.
    pub fn load(config: &Config, secret_key: Option<&Secret>) -> Result<Self, ConfigError> {
        let web = &config.web;
        let development = config.environment.is_development();
        let api_url = match &web.api_url {
            None => None,
            Some(url) => {
                let url = url.trim().trim_end_matches('/');
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(ConfigError::new(
                        "USERHUB_API_URL",
                        format!("expected an http:// or https:// URL, got {url:?}"),
                    ));
                }
                Some(url.to_owned())
            }
        };
        let (cookie_key, cookie_key_derived) = match &web.cookie_key {
            Some(key) if key.expose_secret().len() >= MIN_COOKIE_KEY_BYTES => (key.clone(), false),
            Some(_) => {
                return Err(ConfigError::new(
                    "USERHUB_COOKIE_KEY",
                    format!(
                        "must be at least {MIN_COOKIE_KEY_BYTES} bytes (for example: openssl rand -base64 48)"
                    ),
                ));
            }
            None => match secret_key {
                Some(secret) if development => (derive_key(secret), true),
                _ if development => {
                    return Err(ConfigError::new(
                        "USERHUB_COOKIE_KEY",
                        "required when SECRET_KEY is not available",
                    ));
                }
                _ => {
                    return Err(ConfigError::new(
                        "USERHUB_COOKIE_KEY",
                        "required outside development (for example: openssl rand -base64 48)",
                    ));
                }
            },
        };
        if !(1..=100).contains(&web.page_size) {
            return Err(ConfigError::new(
                "USERHUB_WEB_PAGE_SIZE",
                "must be between 1 and 100",
            ));
        }
        Ok(Self {
            api_url,
            api_timeout: web.api_timeout,
            cookie_key,
            cookie_key_derived,
            cookie_secure: web.cookie_secure,
            session_max_age: web.session_max_age,
            page_size: web.page_size,
            project_name: config.project.name.clone(),
            frontend_host: config.project.frontend_host.clone(),
        })
    }

    /// Settings for tests and embedding: development defaults with `key`.
    pub fn for_tests(key: &str) -> Self {
        Config::from_pairs([("USERHUB_COOKIE_KEY", key)], Environment::Development)
            .and_then(|config| Self::load(&config, None))
            .expect("valid test settings")
    }
}

/// A 32-byte cookie key derived from `SECRET_KEY`, distinct from the JWT key.
fn derive_key(secret: &Secret) -> Secret {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(b"userhub-web session cookie key v1");
    let bytes = mac.finalize().into_bytes();
    Secret::from(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    /// As `userhub web` reads it: deployed unless `ENVIRONMENT` says
    /// otherwise, the cookie key derivable from `SECRET_KEY`.
    fn from_pairs(pairs: &[(&str, &str)]) -> Result<WebSettings, ConfigError> {
        let config = Config::from_pairs(pairs.iter().copied(), Environment::production())?;
        WebSettings::load(&config, config.api.secret_key.as_ref())
    }

    #[test]
    fn cookie_key_is_required_outside_development() {
        let err = from_pairs(&[("SECRET_KEY", "s3cret-s3cret")]).unwrap_err();
        assert_eq!(err.var, "USERHUB_COOKIE_KEY");
        let ok = from_pairs(&[("USERHUB_COOKIE_KEY", KEY)]).unwrap();
        assert!(!ok.cookie_key_derived);
    }

    #[test]
    fn short_cookie_keys_are_refused_everywhere() {
        let config =
            Config::from_pairs([("USERHUB_COOKIE_KEY", "short")], Environment::Development)
                .unwrap();
        let err = WebSettings::load(&config, None).unwrap_err();
        assert_eq!(err.var, "USERHUB_COOKIE_KEY");
    }

    #[test]
    fn development_derives_a_stable_key_from_the_secret_key() {
        let config =
            Config::from_pairs([("ENVIRONMENT", "development")], Environment::production())
                .unwrap();
        let secret = Secret::from("dev-secret");
        let a = WebSettings::load(&config, Some(&secret)).unwrap();
        let b = WebSettings::load(&config, Some(&secret)).unwrap();
        assert!(a.cookie_key_derived);
        assert_eq!(a.cookie_key.expose_secret(), b.cookie_key.expose_secret());
        assert_ne!(a.cookie_key.expose_secret(), "dev-secret");
        assert!(a.cookie_key.expose_secret().len() >= MIN_COOKIE_KEY_BYTES);
        let via_env =
            from_pairs(&[("ENVIRONMENT", "development"), ("SECRET_KEY", "dev-secret")]).unwrap();
        assert_eq!(
            via_env.cookie_key.expose_secret(),
            a.cookie_key.expose_secret()
        );
        let via_alias =
            from_pairs(&[("FASTAPI_ENV", "local"), ("SECRET_KEY", "dev-secret")]).unwrap();
        assert_eq!(
            via_alias.cookie_key.expose_secret(),
            a.cookie_key.expose_secret()
        );
    }

    #[test]
    fn api_url_and_numbers_are_validated() {
        let with = |pairs: Vec<(&str, &str)>| {
            let mut all = vec![("USERHUB_COOKIE_KEY", KEY)];
            all.extend(pairs);
            from_pairs(&all)
        };
        let s = with(vec![
            ("USERHUB_API_URL", "http://127.0.0.1:8000/"),
            ("USERHUB_API_TIMEOUT_SECONDS", "2.5"),
        ])
        .unwrap();
        assert_eq!(s.api_url.as_deref(), Some("http://127.0.0.1:8000"));
        assert_eq!(s.api_timeout, Duration::from_millis(2500));
        assert_eq!(s.page_size, 10);
        for (var, bad) in [
            ("USERHUB_API_URL", "ftp://x"),
            ("USERHUB_API_TIMEOUT_SECONDS", "0"),
            ("USERHUB_WEB_PAGE_SIZE", "0"),
            ("USERHUB_WEB_PAGE_SIZE", "ten"),
            ("USERHUB_COOKIE_SECURE", "maybe"),
        ] {
            assert_eq!(with(vec![(var, bad)]).unwrap_err().var, var);
        }
    }

    #[test]
    fn project_name_and_frontend_host_come_from_the_shared_section() {
        let s = from_pairs(&[
            ("USERHUB_COOKIE_KEY", KEY),
            ("PROJECT_NAME", "Acme"),
            ("FRONTEND_HOST", "https://acme.test/"),
        ])
        .unwrap();
        assert_eq!(s.project_name, "Acme");
        assert_eq!(s.frontend_host, "https://acme.test");
    }

    #[test]
    fn debug_output_redacts_the_cookie_key() {
        let s = WebSettings::for_tests(KEY);
        assert!(!format!("{s:?}").contains(KEY));
    }
}
