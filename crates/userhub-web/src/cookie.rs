//! The sealed session cookie: what it holds ([`SessionData`]) and how it is
//! sealed ([`CookieCipher`]). XChaCha20-Poly1305, key derived from
//! `USERHUB_COOKIE_KEY`, a random nonce per cookie, the cookie name as
//! associated data: the browser, scripts and anyone who copies the cookie
//! can neither read nor alter the token inside.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use http::HeaderMap;
use http::header::COOKIE;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "userhub_session";
/// Name of the (unsigned, non-secret) theme preference cookie.
pub const THEME_COOKIE: &str = "userhub_theme";

/// Kind of a flash message, used as its CSS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Error,
    Info,
}

impl FlashKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Info => "info",
        }
    }
}

/// A message shown once, on the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

/// What the cookie holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionData {
    /// API access token, when logged in.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// CSRF token every state-changing form must echo.
    #[serde(rename = "c")]
    pub csrf: String,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub flash: Option<Flash>,
    /// Unix seconds when the cookie was issued (bounds its age).
    #[serde(rename = "i")]
    pub issued: u64,
}

impl SessionData {
    pub fn fresh() -> Self {
        Self {
            token: None,
            csrf: random_token(),
            flash: None,
            issued: now(),
        }
    }
}

/// Seals and opens cookie values (authenticated encryption).
#[derive(Clone)]
pub struct CookieCipher {
    cipher: Arc<XChaCha20Poly1305>,
}

impl std::fmt::Debug for CookieCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieCipher(<redacted>)")
    }
}

const NONCE_LEN: usize = 24;

impl CookieCipher {
    pub fn new(key: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"userhub session cookie encryption v1\0");
        hasher.update(key);
        let derived = hasher.finalize();
        Self {
            cipher: Arc::new(XChaCha20Poly1305::new(&derived)),
        }
    }

    /// `base64(nonce ‖ ciphertext ‖ tag)`.
    pub fn encode(&self, data: &SessionData) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let plaintext = serde_json::to_vec(data).expect("serialisable");
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: SESSION_COOKIE.as_bytes(),
                },
            )
            .expect("encryption of a small payload cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        B64.encode(out)
    }

    /// The session in `value`, if it opens with this key and is younger
    /// than `max_age`.
    pub fn decode(&self, value: &str, max_age: Duration) -> Option<SessionData> {
        if value.len() > 8 * 1024 {
            return None;
        }
        let raw = B64.decode(value).ok()?;
        if raw.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let plaintext = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: SESSION_COOKIE.as_bytes(),
                },
            )
            .ok()?;
        let data: SessionData = serde_json::from_slice(&plaintext).ok()?;
        (now().saturating_sub(data.issued) <= max_age.as_secs()).then_some(data)
    }
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn cookies_round_trip_and_reject_tampering() {
        let signer = CookieCipher::new(b"0123456789abcdef0123456789abcdef");
        let mut data = SessionData::fresh();
        data.token = Some("eyJhbGciOiJIUzI1NiJ9.jwt-payload.sig".into());
        let value = signer.encode(&data);
        let day = Duration::from_secs(86_400);
        assert_eq!(signer.decode(&value, day), Some(data.clone()));

        // A flipped bit anywhere fails authentication.
        let mut raw = B64.decode(&value).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(signer.decode(&B64.encode(&raw), day), None);
        let mut raw = B64.decode(&value).unwrap();
        raw[NONCE_LEN + 2] ^= 1;
        assert_eq!(signer.decode(&B64.encode(&raw), day), None);
        // The old signed format (readable JSON) is not accepted.
        let readable = B64.encode(serde_json::to_vec(&data).unwrap());
        assert_eq!(signer.decode(&format!("{readable}.AAAA"), day), None);
        let other = CookieCipher::new(b"another key, also 32 bytes long!!");
        assert_eq!(other.decode(&value, day), None);
    }

    #[test]
    fn the_cookie_does_not_reveal_the_token() {
        let cipher = CookieCipher::new(b"0123456789abcdef0123456789abcdef");
        let mut data = SessionData::fresh();
        data.token = Some("eyJhbGciOiJIUzI1NiJ9.secret-claims.sig".into());
        let value = cipher.encode(&data);
        let raw = B64.decode(&value).unwrap();
        let text = String::from_utf8_lossy(&raw);
        for needle in ["eyJ", "secret-claims", "\"t\"", &data.csrf] {
            assert!(
                !text.contains(needle) && !value.contains(needle),
                "{needle} visible"
            );
        }
        // Two encodings of the same session differ (random nonce).
        assert_ne!(value, cipher.encode(&data));
    }

    #[test]
    fn old_cookies_expire() {
        let signer = CookieCipher::new(b"0123456789abcdef0123456789abcdef");
        let mut data = SessionData::fresh();
        data.issued -= 100;
        let value = signer.encode(&data);
        assert!(signer.decode(&value, Duration::from_secs(50)).is_none());
        assert!(signer.decode(&value, Duration::from_secs(500)).is_some());
    }

    #[test]
    fn cookie_values_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; userhub_theme=dark"));
        h.append(COOKIE, HeaderValue::from_static("userhub_session=xyz"));
        assert_eq!(cookie_value(&h, THEME_COOKIE), Some("dark"));
        assert_eq!(cookie_value(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie_value(&h, "b"), None);
    }
}
