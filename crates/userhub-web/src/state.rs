//! The web service's shared state.

use std::sync::Arc;

use http::HeaderMap;
use userhub_core::config::ExposeSecret;

use crate::api::ApiClient;
use crate::cookie::SessionCookie;
use crate::settings::WebSettings;
use crate::transport::{HttpTransport, InProcessTransport, SharedTransport, TransportError};

/// Everything handlers need; cheap to clone.
#[derive(Debug, Clone)]
pub struct WebState {
    pub api: ApiClient,
    pub settings: Arc<WebSettings>,
    /// Seals and opens the session cookie.
    pub session_cookie: SessionCookie,
}

impl WebState {
    /// State over any transport.
    pub fn new(settings: WebSettings, transport: SharedTransport) -> Self {
        let api = ApiClient::new(transport, settings.api_timeout);
        let session_cookie = SessionCookie::new(
            settings.cookie_key.expose_secret().as_bytes(),
            settings.session_max_age,
        );
        Self {
            api,
            settings: Arc::new(settings),
            session_cookie,
        }
    }

    /// Split mode: the API over HTTP at `api_url`.
    pub fn over_http(settings: WebSettings, api_url: &str) -> Result<Self, TransportError> {
        let transport = HttpTransport::new(api_url, settings.api_timeout)?;
        Ok(Self::new(settings, Arc::new(transport)))
    }

    /// All-in-one mode: the API router called in process.
    pub fn in_process(settings: WebSettings, api: InProcessTransport) -> Self {
        Self::new(settings, Arc::new(api))
    }

    /// Whether cookies get the `Secure` attribute for this request.
    pub fn cookie_secure(&self, headers: &HeaderMap) -> bool {
        self.settings.cookie_secure.unwrap_or_else(|| {
            self.settings.frontend_host.starts_with("https://")
                || headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|p| p.eq_ignore_ascii_case("https"))
        })
    }
}
