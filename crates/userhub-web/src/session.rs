//! The browser session: one encrypted, HttpOnly, SameSite=Lax cookie holding
//! the API access token, the CSRF token and a one-shot flash message (sealed
//! as [`crate::cookie`] describes). Logging out also revokes that token at
//! the API, so a copy of the cookie replayed later is refused.
//!
//! [`session_layer`] loads the cookie into a [`Session`] handle in the
//! request's extensions and writes it back when a handler changed it.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use crate::cookie::{Flash, FlashKind, SessionData, now, random_token};
use crate::error_page;
use crate::state::WebState;

#[derive(Debug)]
struct Inner {
    data: SessionData,
    changed: bool,
}

/// The current request's session; cheap to clone, changes are saved to the
/// cookie by [`session_layer`] when the response leaves.
#[derive(Debug, Clone)]
pub struct Session(Arc<Mutex<Inner>>);

impl Session {
    fn new(data: SessionData, changed: bool) -> Self {
        Self(Arc::new(Mutex::new(Inner { data, changed })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn token(&self) -> Option<String> {
        self.lock().data.token.clone()
    }

    pub fn csrf(&self) -> String {
        self.lock().data.csrf.clone()
    }

    /// Whether `candidate` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, candidate: &str) -> bool {
        let expected = self.csrf();
        constant_time_eq(expected.as_bytes(), candidate.as_bytes())
    }

    /// Starts a logged-in session: new token, new CSRF token.
    pub fn log_in(&self, token: String) {
        let mut inner = self.lock();
        inner.data.token = Some(token);
        inner.data.csrf = random_token();
        inner.data.issued = now();
        inner.changed = true;
    }

    /// Ends the session, keeping nothing but an optional flash message.
    pub fn log_out(&self, flash: Option<Flash>) {
        let mut inner = self.lock();
        inner.data = SessionData::fresh();
        inner.data.flash = flash;
        inner.changed = true;
    }

    pub fn set_flash(&self, kind: FlashKind, text: impl Into<String>) {
        let mut inner = self.lock();
        inner.data.flash = Some(Flash {
            kind,
            text: text.into(),
        });
        inner.changed = true;
    }

    /// Takes the flash message (it is shown once).
    pub fn take_flash(&self) -> Option<Flash> {
        let mut inner = self.lock();
        let flash = inner.data.flash.take();
        if flash.is_some() {
            inner.changed = true;
        }
        flash
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Session>().cloned().ok_or_else(|| {
            tracing::error!("session layer missing");
            error_page::internal().into_response()
        })
    }
}

/// A marker a response carries to end the session (expired or rejected
/// token); [`session_layer`] applies it.
#[derive(Debug, Clone)]
pub struct EndSession(pub Flash);

/// Loads the session cookie, runs the handler, writes the cookie back.
pub async fn session_layer(
    State(state): State<WebState>,
    mut request: Request,
    next: Next,
) -> Response {
    let loaded = state.session_cookie.open(request.headers());
    let secure = state.cookie_secure(request.headers());
    let session = match loaded {
        Some(data) => Session::new(data, false),
        None => Session::new(SessionData::fresh(), true),
    };
    request.extensions_mut().insert(session.clone());
    let mut response = next.run(request).await;
    if let Some(EndSession(flash)) = response.extensions_mut().remove::<EndSession>() {
        session.log_out(Some(flash));
    }
    let inner = session.lock();
    if inner.changed {
        let jar = state.session_cookie.seal(&inner.data, secure);
        return (jar, response).into_response();
    }
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_compare_exactly_and_rotate_on_login() {
        let session = Session::new(SessionData::fresh(), false);
        let before = session.csrf();
        assert!(session.csrf_matches(&before));
        assert!(!session.csrf_matches(""));
        assert!(!session.csrf_matches(&before[..before.len() - 1]));
        session.log_in("jwt".into());
        assert!(!session.csrf_matches(&before));
        assert_eq!(session.token().as_deref(), Some("jwt"));
    }
}
