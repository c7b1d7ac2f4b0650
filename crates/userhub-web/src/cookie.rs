//! The sealed session cookie: what it holds ([`SessionData`]) and how it is
//! sealed ([`SessionCookie`]). The sealing is the `cookie` crate's private
//! cookies through axum-extra's [`PrivateCookieJar`]: AES-256-GCM, a random
//! nonce per cookie, the cookie name as associated data, under a key derived
//! from `USERHUB_COOKIE_KEY` with [`Key::derive_from`] (HKDF-SHA-256). The
//! browser, scripts and anyone who copies the cookie can neither read nor
//! alter the token inside. The session's lifetime is enforced inside the
//! sealed value too (its `issued` time), so a replayed old cookie is refused
//! whatever its `Max-Age` said.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::{Cookie, Key, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use http::HeaderMap;
use http::header::COOKIE;
use rand::RngCore;
use serde::{Deserialize, Serialize};

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

/// Longest session cookie value read, as received (a longer one is no
/// session, and is not even opened).
const MAX_COOKIE_VALUE: usize = 8 * 1024;

/// Seals sessions into the `userhub_session` cookie and opens them again.
#[derive(Clone)]
pub struct SessionCookie {
    key: Key,
    max_age: Duration,
}

impl std::fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCookie(<redacted>)")
    }
}

impl SessionCookie {
    /// Cookies sealed under a key derived from `secret` (at least
    /// [`crate::settings::MIN_COOKIE_KEY_BYTES`], as `WebSettings::load`
    /// ensures), valid for `max_age` from the session's issue time.
    ///
    /// # Panics
    /// If `secret` is shorter than 32 bytes.
    pub fn new(secret: &[u8], max_age: Duration) -> Self {
        Self {
            key: Key::derive_from(secret),
            max_age,
        }
    }

    /// The session in the request's cookie, if there is one that opens with
    /// this key and is younger than the session lifetime. Anything else
    /// (absent, oversized, truncated, tampered, sealed under another key or
    /// in the previous format, expired) is no session.
    pub fn open(&self, headers: &HeaderMap) -> Option<SessionData> {
        let raw = cookie_value(headers, SESSION_COOKIE)?;
        if raw.len() > MAX_COOKIE_VALUE {
            return None;
        }
        let sealed = Cookie::parse_encoded(format!("{SESSION_COOKIE}={raw}")).ok()?;
        let opened = PrivateCookieJar::new(self.key.clone()).decrypt(sealed)?;
        let data: SessionData = serde_json::from_str(opened.value()).ok()?;
        (now().saturating_sub(data.issued) <= self.max_age.as_secs()).then_some(data)
    }

    /// `data` sealed into the session cookie (`Path=/; HttpOnly;
    /// SameSite=Lax; Max-Age=` the session lifetime, `Secure` when
    /// `secure`): a jar to return with the response.
    pub fn seal(&self, data: &SessionData, secure: bool) -> PrivateCookieJar {
        let value = serde_json::to_string(data).expect("serialisable");
        let max_age = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        let cookie = Cookie::build((SESSION_COOKIE, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(max_age))
            .secure(secure);
        PrivateCookieJar::new(self.key.clone()).add(cookie)
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
    use axum::response::IntoResponse;
    use base64::engine::general_purpose::STANDARD;
    use http::HeaderValue;
    use http::header::SET_COOKIE;

    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const DAY: Duration = Duration::from_secs(86_400);

    /// The `Set-Cookie` line of `data` sealed by `cookies`.
    fn set_cookie(cookies: &SessionCookie, data: &SessionData, secure: bool) -> String {
        let response = cookies.seal(data, secure).into_response();
        let mut lines = response.headers().get_all(SET_COOKIE).iter();
        let line = lines.next().unwrap().to_str().unwrap().to_owned();
        assert!(lines.next().is_none(), "one cookie");
        line
    }

    /// The sealed value as a browser sends it back.
    fn sealed(cookies: &SessionCookie, data: &SessionData) -> String {
        let line = set_cookie(cookies, data, false);
        let pair = line.split(';').next().unwrap();
        pair.strip_prefix("userhub_session=").unwrap().to_owned()
    }

    /// The sealed bytes (nonce ‖ ciphertext ‖ tag) of a sealed value.
    fn sealed_bytes(value: &str) -> Vec<u8> {
        let cookie = Cookie::parse_encoded(format!("{SESSION_COOKIE}={value}")).unwrap();
        STANDARD.decode(cookie.value()).unwrap()
    }

    /// `open` of a request carrying `value` as the session cookie.
    fn open(cookies: &SessionCookie, value: &str) -> Option<SessionData> {
        let mut h = HeaderMap::new();
        let header = format!("userhub_theme=dark; {SESSION_COOKIE}={value}");
        h.insert(COOKIE, HeaderValue::from_str(&header).unwrap());
        cookies.open(&h)
    }

    #[test]
    fn cookies_round_trip_and_reject_tampering() {
        let signer = SessionCookie::new(KEY, DAY);
        let mut data = SessionData::fresh();
        data.token = Some("eyJhbGciOiJIUzI1NiJ9.jwt-payload.sig".into());
        let value = sealed(&signer, &data);
        assert_eq!(open(&signer, &value), Some(data.clone()));

        // A flipped bit anywhere fails authentication.
        let mut raw = sealed_bytes(&value);
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(open(&signer, &STANDARD.encode(&raw)), None);
        let mut raw = sealed_bytes(&value);
        raw[12 + 2] ^= 1;
        assert_eq!(open(&signer, &STANDARD.encode(&raw)), None);
        let mut raw = sealed_bytes(&value);
        raw[0] ^= 1;
        assert_eq!(open(&signer, &STANDARD.encode(&raw)), None, "nonce");
        // Truncated, whatever the cut.
        let raw = sealed_bytes(&value);
        for len in [0, 1, 11, 12, 13, 28, raw.len() - 1] {
            assert_eq!(open(&signer, &STANDARD.encode(&raw[..len])), None, "{len}");
        }
        assert_eq!(open(&signer, &value[..value.len() - 3]), None);
        // Garbage.
        for garbage in ["", "x", "%", "%zz", "not base64!", "AAAA", &"A".repeat(200)] {
            assert_eq!(open(&signer, garbage), None, "{garbage}");
        }
        // The old signed format (readable JSON) is not accepted.
        let readable = B64.encode(serde_json::to_vec(&data).unwrap());
        assert_eq!(open(&signer, &format!("{readable}.AAAA")), None);
        let other = SessionCookie::new(b"another key, also 32 bytes long!!", DAY);
        assert_eq!(open(&other, &value), None, "another key");
    }

    #[test]
    fn a_value_sealed_under_another_cookie_name_does_not_open() {
        let cookies = SessionCookie::new(KEY, DAY);
        let jar = PrivateCookieJar::new(Key::derive_from(KEY)).add(Cookie::new(
            "other",
            serde_json::to_string(&SessionData::fresh()).unwrap(),
        ));
        let line = jar.into_response().headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        let value = line
            .split(';')
            .next()
            .unwrap()
            .strip_prefix("other=")
            .unwrap();
        assert_eq!(open(&cookies, value), None);
    }

    #[test]
    fn cookies_of_the_previous_format_are_no_session() {
        // Sealed by the previous implementation (XChaCha20-Poly1305, key
        // SHA-256-derived from `KEY`), a logged-in session issued recently.
        const PREVIOUS: &str = "LPoCrigfEeIfXJi45X5K64tUpMzRDZ1x35A6WvPU2mo_oRuwx8qpN2455sHZ2_tFGl8Qk7T76DABnKlfmjG2AhWokpL5LdV4ehe_x9XkML88JrWyFW7F9KYdteOhFddwBjEZPJ9xoadE0lfoR__vHCiUz3c";
        let cookies = SessionCookie::new(KEY, Duration::from_secs(u64::MAX / 2));
        assert_eq!(open(&cookies, PREVIOUS), None);
    }

    #[test]
    fn oversized_values_are_not_opened() {
        let cookies = SessionCookie::new(KEY, DAY);
        let mut data = SessionData::fresh();
        data.flash = Some(Flash {
            kind: FlashKind::Info,
            text: "x".repeat(6 * 1024),
        });
        let value = sealed(&cookies, &data);
        assert!(value.len() > MAX_COOKIE_VALUE, "{}", value.len());
        assert_eq!(open(&cookies, &value), None);
        data.flash = Some(Flash {
            kind: FlashKind::Info,
            text: "x".repeat(5 * 1024),
        });
        let value = sealed(&cookies, &data);
        assert!(value.len() <= MAX_COOKIE_VALUE, "{}", value.len());
        assert_eq!(open(&cookies, &value), Some(data));
    }

    #[test]
    fn the_cookie_has_its_attributes() {
        let cookies = SessionCookie::new(KEY, Duration::from_secs(691_200));
        let data = SessionData::fresh();
        let line = set_cookie(&cookies, &data, false);
        assert!(line.starts_with("userhub_session="), "{line}");
        let mut attributes: Vec<&str> = line.split("; ").skip(1).collect();
        attributes.sort_unstable();
        assert_eq!(
            attributes,
            ["HttpOnly", "Max-Age=691200", "Path=/", "SameSite=Lax"],
            "{line}"
        );
        let line = set_cookie(&cookies, &data, true);
        let mut attributes: Vec<&str> = line.split("; ").skip(1).collect();
        attributes.sort_unstable();
        assert_eq!(
            attributes,
            [
                "HttpOnly",
                "Max-Age=691200",
                "Path=/",
                "SameSite=Lax",
                "Secure"
            ],
            "{line}"
        );
    }

    #[test]
    fn the_cookie_does_not_reveal_the_token() {
        let cipher = SessionCookie::new(KEY, DAY);
        let mut data = SessionData::fresh();
        data.token = Some("eyJhbGciOiJIUzI1NiJ9.secret-claims.sig".into());
        let value = sealed(&cipher, &data);
        let raw = sealed_bytes(&value);
        let text = String::from_utf8_lossy(&raw);
        for needle in ["eyJ", "secret-claims", "\"t\"", &data.csrf] {
            assert!(
                !text.contains(needle) && !value.contains(needle),
                "{needle} visible"
            );
        }
        // Two encodings of the same session differ (random nonce).
        assert_ne!(value, sealed(&cipher, &data));
    }

    #[test]
    fn old_cookies_expire() {
        let short = SessionCookie::new(KEY, Duration::from_secs(50));
        let long = SessionCookie::new(KEY, Duration::from_secs(500));
        let mut data = SessionData::fresh();
        data.issued -= 100;
        // The lifetime is enforced on the sealed issue time, whoever seals.
        for sealer in [&short, &long] {
            let value = sealed(sealer, &data);
            assert!(open(&short, &value).is_none());
            assert!(open(&long, &value).is_some());
        }
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
