//! A typed client of the API contract, over a [`Transport`].
//!
//! Every request goes through [`ApiClient::send`], the one place that adds
//! the access token, the forwarded client address and the trace context.

mod error;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::field::Empty;
use tracing::instrument;

pub use error::{ApiError, detail_of};
pub use userhub_contract::{
    BodyLoginLoginAccessToken, ItemCreate, ItemPublic, ItemUpdate, ItemsPublic, Message,
    NewPassword, Token, UpdatePassword, UserCreate, UserPublic, UserRegister, UserUpdate,
    UserUpdateMe, UsersPublic,
};

use crate::transport::{MAX_RESPONSE_BYTES, SharedTransport};

const PREFIX: &str = "/api/v1";

/// Who a request is made for: the browser's token and address.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The access token from the session cookie.
    pub token: Option<String>,
    /// The browser's socket address, as seen by the web service.
    pub peer: Option<SocketAddr>,
    /// The incoming `X-Forwarded-For`, extended with `peer` when forwarded.
    pub forwarded_for: Option<String>,
}

/// The API, seen from the web service.
#[derive(Debug, Clone)]
pub struct ApiClient {
    transport: SharedTransport,
    timeout: Duration,
}

impl ApiClient {
    pub fn new(transport: SharedTransport, timeout: Duration) -> Self {
        Self { transport, timeout }
    }

    /// Sends one request and decodes a 2xx JSON answer as `T`.
    #[instrument(name = "api.call", skip_all, fields(
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = %method,
        url.template = %path_template(path),
        http.response.status_code = Empty,
    ))]
    async fn send<T: DeserializeOwned>(
        &self,
        caller: &Caller,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<T, ApiError> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{PREFIX}{path}"))
            .header(http::header::ACCEPT, "application/json");
        if let Some(headers) = request.headers_mut() {
            outgoing_headers(headers, caller);
        }
        if let Some(peer) = caller.peer {
            request = request.extension(ConnectInfo(peer));
        }
        let request = match body {
            Some((content_type, bytes)) => request
                .header(CONTENT_TYPE, content_type)
                .body(Body::from(bytes)),
            None => request.body(Body::empty()),
        }
        .map_err(|e| ApiError::Unexpected(format!("request: {e}")))?;

        let exchange = async {
            let response = self.transport.send(request).await?;
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), MAX_RESPONSE_BYTES)
                .await
                .map_err(|e| ApiError::Unexpected(format!("body: {e}")))?;
            Ok::<_, ApiError>((status, bytes))
        };
        let span = tracing::Span::current();
        let answer = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ApiError::Timeout)
            .and_then(|answer| answer);
        let (status, bytes) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                span.record("otel.status_code", "error");
                return Err(e);
            }
        };
        span.record("http.response.status_code", status.as_u16());
        if status.is_server_error() {
            span.record("otel.status_code", "error");
        }
        decode(status, &bytes)
    }

    fn json<T: DeserializeOwned>(
        &self,
        caller: &Caller,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> impl Future<Output = Result<T, ApiError>> + Send {
        let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Unexpected(e.to_string()));
        let path = path.to_owned();
        let caller = caller.clone();
        async move {
            self.send(&caller, method, &path, Some(("application/json", bytes?)))
                .await
        }
    }

    pub async fn login(
        &self,
        caller: &Caller,
        email: &str,
        password: &str,
    ) -> Result<Token, ApiError> {
        let form = serde_urlencoded::to_string(BodyLoginLoginAccessToken {
            username: email.to_owned(),
            password: password.to_owned(),
            ..BodyLoginLoginAccessToken::default()
        })
        .map_err(|e| ApiError::Unexpected(e.to_string()))?;
        self.send(
            caller,
            Method::POST,
            "/login/access-token",
            Some(("application/x-www-form-urlencoded", form.into_bytes())),
        )
        .await
    }

    /// Revokes the caller's token at the API (Userhub's `POST /logout`).
    pub async fn logout(&self, caller: &Caller) -> Result<Message, ApiError> {
        self.send(caller, Method::POST, "/logout", None).await
    }

    pub async fn me(&self, caller: &Caller) -> Result<UserPublic, ApiError> {
        self.send(caller, Method::GET, "/users/me", None).await
    }

    pub async fn signup(
        &self,
        caller: &Caller,
        email: &str,
        password: &str,
        full_name: &str,
    ) -> Result<UserPublic, ApiError> {
        let body = UserRegister {
            email: email.to_owned(),
            password: password.to_owned(),
            full_name: optional(full_name),
        };
        self.json(caller, Method::POST, "/users/signup", &body)
            .await
    }

    pub async fn recover_password(
        &self,
        caller: &Caller,
        email: &str,
    ) -> Result<Message, ApiError> {
        let path = format!("/password-recovery/{}", encode_segment(email));
        self.send(caller, Method::POST, &path, None).await
    }

    pub async fn reset_password(
        &self,
        caller: &Caller,
        token: &str,
        new_password: &str,
    ) -> Result<Message, ApiError> {
        let body = NewPassword {
            token: token.to_owned(),
            new_password: new_password.to_owned(),
        };
        self.json(caller, Method::POST, "/reset-password", &body)
            .await
    }

    pub async fn items(
        &self,
        caller: &Caller,
        skip: u64,
        limit: u32,
    ) -> Result<ItemsPublic, ApiError> {
        let path = format!("/items?skip={skip}&limit={limit}");
        self.send(caller, Method::GET, &path, None).await
    }

    pub async fn item(&self, caller: &Caller, id: &uuid::Uuid) -> Result<ItemPublic, ApiError> {
        self.send(caller, Method::GET, &format!("/items/{id}"), None)
            .await
    }

    pub async fn create_item(
        &self,
        caller: &Caller,
        title: &str,
        description: &str,
    ) -> Result<ItemPublic, ApiError> {
        let body = ItemCreate {
            title: title.to_owned(),
            description: optional(description),
        };
        self.json(caller, Method::POST, "/items", &body).await
    }

    pub async fn update_item(
        &self,
        caller: &Caller,
        id: &uuid::Uuid,
        title: &str,
        description: &str,
    ) -> Result<ItemPublic, ApiError> {
        let body = ItemUpdate {
            title: Some(title.to_owned()),
            description: Some(optional(description)),
        };
        self.json(caller, Method::PUT, &format!("/items/{id}"), &body)
            .await
    }

    pub async fn delete_item(&self, caller: &Caller, id: &uuid::Uuid) -> Result<Message, ApiError> {
        self.send(caller, Method::DELETE, &format!("/items/{id}"), None)
            .await
    }

    pub async fn update_me(
        &self,
        caller: &Caller,
        full_name: &str,
        email: &str,
    ) -> Result<UserPublic, ApiError> {
        let body = UserUpdateMe {
            full_name: Some(optional(full_name)),
            email: Some(email.to_owned()),
        };
        self.json(caller, Method::PATCH, "/users/me", &body).await
    }

    pub async fn update_password(
        &self,
        caller: &Caller,
        current_password: &str,
        new_password: &str,
    ) -> Result<Message, ApiError> {
        let body = UpdatePassword {
            current_password: current_password.to_owned(),
            new_password: new_password.to_owned(),
        };
        self.json(caller, Method::PATCH, "/users/me/password", &body)
            .await
    }

    pub async fn delete_me(&self, caller: &Caller) -> Result<Message, ApiError> {
        self.send(caller, Method::DELETE, "/users/me", None).await
    }

    pub async fn users(
        &self,
        caller: &Caller,
        skip: u64,
        limit: u32,
    ) -> Result<UsersPublic, ApiError> {
        let path = format!("/users?skip={skip}&limit={limit}");
        self.send(caller, Method::GET, &path, None).await
    }

    pub async fn user(&self, caller: &Caller, id: &uuid::Uuid) -> Result<UserPublic, ApiError> {
        self.send(caller, Method::GET, &format!("/users/{id}"), None)
            .await
    }

    pub async fn create_user(
        &self,
        caller: &Caller,
        body: &UserCreate,
    ) -> Result<UserPublic, ApiError> {
        self.json(caller, Method::POST, "/users", body).await
    }

    pub async fn update_user(
        &self,
        caller: &Caller,
        id: &uuid::Uuid,
        body: &UserUpdate,
    ) -> Result<UserPublic, ApiError> {
        self.json(caller, Method::PATCH, &format!("/users/{id}"), body)
            .await
    }

    pub async fn delete_user(&self, caller: &Caller, id: &uuid::Uuid) -> Result<Message, ApiError> {
        self.send(caller, Method::DELETE, &format!("/users/{id}"), None)
            .await
    }
}

/// Headers every outgoing API request carries, over HTTP or in process:
/// the token, the forwarded client address and the W3C trace context of
/// the current span (so the API's spans are children of the page view's).
fn outgoing_headers(headers: &mut HeaderMap, caller: &Caller) {
    userhub_telemetry::inject_current_context(headers);
    if let Some(token) = &caller.token
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        headers.insert(AUTHORIZATION, value);
    }
    let forwarded = match (&caller.forwarded_for, caller.peer) {
        (Some(chain), Some(peer)) => Some(format!("{chain}, {}", peer.ip())),
        (None, Some(peer)) => Some(peer.ip().to_string()),
        (Some(chain), None) => Some(chain.clone()),
        (None, None) => None,
    };
    if let Some(value) = forwarded.and_then(|f| HeaderValue::from_str(&f).ok()) {
        headers.insert("x-forwarded-for", value);
    }
}

fn decode<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T, ApiError> {
    if status.is_success() {
        return serde_json::from_slice(body)
            .map_err(|e| ApiError::Unexpected(format!("{status}: undecodable body: {e}")));
    }
    if status == StatusCode::UNAUTHORIZED {
        return Err(ApiError::Unauthenticated {
            detail: detail_of(body).unwrap_or_else(|| "Not authenticated".to_owned()),
        });
    }
    match (status.is_client_error(), detail_of(body)) {
        (true, Some(detail)) => Err(ApiError::Rejected { status, detail }),
        _ => Err(ApiError::Unexpected(format!("status {status}"))),
    }
}

/// The API path as a template for span attributes: ids become `{id}` and
/// email addresses `{email}`, the query string is dropped.
fn path_template(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut out = String::from(PREFIX);
    for segment in path.split('/').skip(1) {
        out.push('/');
        if uuid::Uuid::parse_str(segment).is_ok() {
            out.push_str("{id}");
        } else if segment.contains('@') || segment.contains("%40") {
            out.push_str("{email}");
        } else {
            out.push_str(segment);
        }
    }
    out
}

/// A form field as an optional string: blank is `None`.
fn optional(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Percent-encodes a path segment.
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' | b'+' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_errors() {
        assert!(matches!(
            decode::<Message>(StatusCode::UNAUTHORIZED, br#"{"detail":"Could not validate credentials"}"#),
            Err(ApiError::Unauthenticated { detail }) if detail == "Could not validate credentials"
        ));
        assert!(matches!(
            decode::<Message>(
                StatusCode::CONFLICT,
                br#"{"detail":"User with this email already exists"}"#
            ),
            Err(ApiError::Rejected {
                status: StatusCode::CONFLICT,
                ..
            })
        ));
        assert!(matches!(
            decode::<Message>(StatusCode::INTERNAL_SERVER_ERROR, br#"{"detail":"boom"}"#),
            Err(ApiError::Unexpected(_))
        ));
        assert!(matches!(
            decode::<Message>(StatusCode::OK, b"not json"),
            Err(ApiError::Unexpected(_))
        ));
        assert_eq!(
            decode::<Message>(StatusCode::OK, br#"{"message":"ok"}"#)
                .unwrap()
                .message,
            "ok"
        );
    }

    #[test]
    fn span_paths_hide_ids_emails_and_queries() {
        assert_eq!(
            path_template("/items/6f0c3a8e-6d3b-4f7e-9a53-0c2d1b7e4a11"),
            "/api/v1/items/{id}"
        );
        assert_eq!(
            path_template("/password-recovery/someone%40example.com"),
            "/api/v1/password-recovery/{email}"
        );
        assert_eq!(path_template("/items/?skip=0&limit=5"), "/api/v1/items/");
        assert_eq!(
            path_template("/login/access-token"),
            "/api/v1/login/access-token"
        );
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_segment("a b/c@d.e"), "a%20b%2Fc@d.e");
    }

    #[test]
    fn forwarded_for_extends_the_chain() {
        let mut h = HeaderMap::new();
        let caller = Caller {
            token: Some("t".into()),
            peer: Some("10.0.0.2:5555".parse().unwrap()),
            forwarded_for: Some("203.0.113.9".into()),
        };
        outgoing_headers(&mut h, &caller);
        assert_eq!(h["authorization"], "Bearer t");
        assert_eq!(h["x-forwarded-for"], "203.0.113.9, 10.0.0.2");
    }
}
