//! How API requests leave the web service: over HTTP to a base URL (split
//! mode) or straight into the API's in-process router (`userhub serve`).
//! Both take and return the same `http` request and response types.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use futures::future::BoxFuture;
use http::{Request, Response};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt};

/// Largest API response body the web service reads.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// The API could not be reached or did not answer properly.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("API request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("API request could not be built: {0}")]
    Build(String),
    #[error("API response body could not be read: {0}")]
    Body(String),
}

/// Sends one API request. Paths are absolute (`/api/v1/...`).
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    fn send(
        &self,
        request: Request<Body>,
    ) -> BoxFuture<'static, Result<Response<Body>, TransportError>>;
}

/// A shared transport handle.
pub type SharedTransport = Arc<dyn Transport>;

/// HTTP to the API's base URL (`USERHUB_API_URL`).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    base_url: String,
}

impl HttpTransport {
    /// `base_url` without trailing slash, e.g. `http://127.0.0.1:8000`.
    pub fn new(base_url: &str, timeout: std::time::Duration) -> Result<Self, TransportError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(32)
            .build()?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }
}

impl Transport for HttpTransport {
    fn send(
        &self,
        request: Request<Body>,
    ) -> BoxFuture<'static, Result<Response<Body>, TransportError>> {
        let client = self.client.clone();
        let base = self.base_url.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let bytes = axum::body::to_bytes(body, MAX_RESPONSE_BYTES)
                .await
                .map_err(|e| TransportError::Build(e.to_string()))?;
            let reply = client
                .request(parts.method, format!("{base}{path}"))
                .headers(parts.headers)
                .body(bytes)
                .send()
                .await?;
            let mut response = Response::builder().status(reply.status());
            if let Some(headers) = response.headers_mut() {
                headers.extend(reply.headers().iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            let body = reply.bytes().await?;
            response
                .body(Body::from(body))
                .map_err(|e| TransportError::Build(e.to_string()))
        })
    }
}

/// Calls an in-process service (the API `Router`) directly.
#[derive(Clone)]
pub struct InProcessTransport {
    service: BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>,
}

impl fmt::Debug for InProcessTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InProcessTransport")
    }
}

impl InProcessTransport {
    pub fn new<S>(service: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        Self {
            service: BoxCloneSyncService::new(service),
        }
    }
}

impl Transport for InProcessTransport {
    fn send(
        &self,
        request: Request<Body>,
    ) -> BoxFuture<'static, Result<Response<Body>, TransportError>> {
        let service = self.service.clone();
        Box::pin(async move {
            let response = match service.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok(response)
        })
    }
}
