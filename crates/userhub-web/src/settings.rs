//! The web service's own settings, read from the shared [`ConfigSource`].

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use userhub_core::config::{ConfigError, ConfigSource, Environment, Secret};

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
    /// `USERHUB_COOKIE_KEY`: signs the session cookie (at least 32 bytes).
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
    /// Reads the settings. The environment comes from `ENVIRONMENT` (unset:
    /// deployed, strict), and in development a missing `USERHUB_COOKIE_KEY`
    /// is derived from `SECRET_KEY` when that is set.
    pub fn from_source(src: &ConfigSource) -> Result<Self, ConfigError> {
        let environment = Environment::from_source(src, Environment::production());
        let secret = src.raw("SECRET_KEY").map(Secret::new);
        Self::load(src, &environment, secret.as_ref())
    }

    /// Reads the settings for a known `environment`. `secret_key` (the
    /// service's `SECRET_KEY`, possibly generated in development) is the
    /// source of the cookie key in development when `USERHUB_COOKIE_KEY` is
    /// unset; outside development the cookie key is required.
    pub fn load(
        src: &ConfigSource,
        environment: &Environment,
        secret_key: Option<&Secret>,
    ) -> Result<Self, ConfigError> {
        let api_url = match src.raw("USERHUB_API_URL") {
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
        let (cookie_key, cookie_key_derived) = match src.raw("USERHUB_COOKIE_KEY") {
            Some(key) if key.len() >= MIN_COOKIE_KEY_BYTES => (Secret::new(key), false),
            Some(_) => {
                return Err(ConfigError::new(
                    "USERHUB_COOKIE_KEY",
                    format!(
                        "must be at least {MIN_COOKIE_KEY_BYTES} bytes (for example: openssl rand -base64 48)"
                    ),
                ));
            }
            None => match secret_key {
                Some(secret) if environment.is_development() => (derive_key(secret), true),
                _ if environment.is_development() => {
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
        let api_timeout = src.secs_or("USERHUB_API_TIMEOUT_SECONDS", Duration::from_secs(10))?;
        let session_max_age = src.secs_or(
            "USERHUB_SESSION_MAX_AGE_SECONDS",
            Duration::from_secs(8 * 86_400),
        )?;
        let page_size: u32 = src.parse_or("USERHUB_WEB_PAGE_SIZE", 10, "a whole number")?;
        if !(1..=100).contains(&page_size) {
            return Err(ConfigError::new(
                "USERHUB_WEB_PAGE_SIZE",
                "must be between 1 and 100",
            ));
        }
        let cookie_secure = match src.raw("USERHUB_COOKIE_SECURE") {
            None => None,
            Some(_) => Some(src.bool_or("USERHUB_COOKIE_SECURE", false)?),
        };
        Ok(Self {
            api_url,
            api_timeout,
            cookie_key,
            cookie_key_derived,
            cookie_secure,
            session_max_age,
            page_size,
            project_name: src.raw("PROJECT_NAME").unwrap_or("Userhub").to_owned(),
            frontend_host: src
                .raw("FRONTEND_HOST")
                .unwrap_or("http://localhost:8000")
                .trim_end_matches('/')
                .to_owned(),
        })
    }

    /// Settings for tests and embedding: development defaults with `key`.
    pub fn for_tests(key: &str) -> Self {
        let src = ConfigSource::from_pairs([("USERHUB_COOKIE_KEY", key)]);
        Self::load(&src, &Environment::Development, None).expect("valid test settings")
    }
}

/// A 32-byte cookie key derived from `SECRET_KEY`, distinct from the JWT key.
fn derive_key(secret: &Secret) -> Secret {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(b"userhub-web session cookie key v1");
    let bytes = mac.finalize().into_bytes();
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn cookie_key_is_required_outside_development() {
        let src = ConfigSource::from_pairs([("SECRET_KEY", "s3cret-s3cret")]);
        let err = WebSettings::from_source(&src).unwrap_err();
        assert_eq!(err.var, "USERHUB_COOKIE_KEY");
        let ok = WebSettings::from_source(&ConfigSource::from_pairs([("USERHUB_COOKIE_KEY", KEY)]))
            .unwrap();
        assert!(!ok.cookie_key_derived);
    }

    #[test]
    fn short_cookie_keys_are_refused_everywhere() {
        let src = ConfigSource::from_pairs([("USERHUB_COOKIE_KEY", "short")]);
        let err = WebSettings::load(&src, &Environment::Development, None).unwrap_err();
        assert_eq!(err.var, "USERHUB_COOKIE_KEY");
    }

    #[test]
    fn development_derives_a_stable_key_from_the_secret_key() {
        let src = ConfigSource::from_pairs([("ENVIRONMENT", "development")]);
        let secret = Secret::new("dev-secret");
        let a = WebSettings::load(&src, &Environment::Development, Some(&secret)).unwrap();
        let b = WebSettings::load(&src, &Environment::Development, Some(&secret)).unwrap();
        assert!(a.cookie_key_derived);
        assert_eq!(a.cookie_key, b.cookie_key);
        assert_ne!(a.cookie_key.expose(), "dev-secret");
        assert!(a.cookie_key.expose().len() >= MIN_COOKIE_KEY_BYTES);
        let via_env = WebSettings::from_source(&ConfigSource::from_pairs([
            ("ENVIRONMENT", "development"),
            ("SECRET_KEY", "dev-secret"),
        ]))
        .unwrap();
        assert_eq!(via_env.cookie_key, a.cookie_key);
    }

    #[test]
    fn api_url_and_numbers_are_validated() {
        let with = |pairs: Vec<(&str, &str)>| {
            let mut all = vec![("USERHUB_COOKIE_KEY", KEY)];
            all.extend(pairs);
            WebSettings::from_source(&ConfigSource::from_pairs(all))
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
            ("USERHUB_COOKIE_SECURE", "maybe"),
        ] {
            assert_eq!(with(vec![(var, bad)]).unwrap_err().var, var);
        }
    }

    #[test]
    fn debug_output_redacts_the_cookie_key() {
        let s = WebSettings::for_tests(KEY);
        assert!(!format!("{s:?}").contains(KEY));
    }
}
