//! JWTs, interoperable with the reference in both directions: HS256 with
//! `SECRET_KEY`; access tokens carry `sub` (user id) and integer `exp`;
//! password-reset tokens carry `sub` (email), `nbf` and a float `exp`.
//! Userhub adds a float `iat` (microsecond precision) to both; tokens without
//! it (the reference's) are dated from `exp` minus the lifetime (access) or
//! `nbf` (reset). Tokens are signed with the current key and verified with
//! it or any of the previous keys (rotation).

use std::fmt;

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::UserId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed or its signature does not match")]
    Invalid,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token is not an access token")]
    WrongKind,
}

/// Claims of an access token as written by Userhub and the reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<f64>,
}

#[derive(Serialize)]
struct ResetClaimsOut<'a> {
    exp: f64,
    nbf: i64,
    iat: f64,
    sub: &'a str,
}

/// Claims read back leniently: numbers may be integers or floats.
#[derive(Deserialize)]
struct AnyClaims {
    sub: Option<String>,
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
}

/// A valid access token: whose it is, when it was issued and expires, and
/// its fingerprint (for revocation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAccess {
    pub user_id: UserId,
    /// Unix microseconds: the `iat` claim, else `exp` minus the lifetime.
    pub issued_at_micros: i64,
    pub expires_at_micros: i64,
    pub fingerprint: String,
}

/// A valid password-reset token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReset {
    pub email: String,
    /// Unix microseconds: `iat`, else `nbf`, else `exp` minus the lifetime.
    pub issued_at_micros: i64,
}

/// SHA-256 of a token, hex: how revocations and exemptions name a token
/// without storing it.
pub fn token_fingerprint(token: &str) -> String {
    use sha2::Digest;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = sha2::Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(2 * digest.len());
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    hex
}

fn micros(secs: f64) -> i64 {
    (secs * 1e6).round() as i64
}

/// Signing and verification keys plus token lifetimes.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    /// The current key first, then the previous ones.
    decoding: Vec<DecodingKey>,
    access_ttl: Duration,
    reset_ttl: Duration,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("keys", &"<redacted>")
            .field("access_ttl", &self.access_ttl)
            .field("reset_ttl", &self.reset_ttl)
            .finish()
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl: Duration, reset_ttl: Duration) -> Self {
        Self::with_previous(secret, &[], access_ttl, reset_ttl)
    }

    /// Signs with `secret`; also accepts tokens signed with `previous` keys.
    pub fn with_previous(
        secret: &[u8],
        previous: &[&[u8]],
        access_ttl: Duration,
        reset_ttl: Duration,
    ) -> Self {
        let mut decoding = vec![DecodingKey::from_secret(secret)];
        decoding.extend(previous.iter().map(|k| DecodingKey::from_secret(k)));
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding,
            access_ttl,
            reset_ttl,
        }
    }

    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// Mints an access token for `user_id`.
    pub fn issue_access(&self, user_id: UserId) -> String {
        let now = Utc::now();
        let claims = AccessClaims {
            sub: user_id.to_string(),
            exp: (now + self.access_ttl).timestamp(),
            iat: Some(now.timestamp_micros() as f64 / 1e6),
        };
        self.encode(&claims)
    }

    /// Verifies an access token and returns the user id it names.
    pub fn verify_access(&self, token: &str) -> Result<UserId, TokenError> {
        self.verify_access_token(token).map(|v| v.user_id)
    }

    /// Verifies an access token and returns what revocation checks need.
    pub fn verify_access_token(&self, token: &str) -> Result<VerifiedAccess, TokenError> {
        let claims = self.decode(token)?;
        // A reset token has `nbf` and an email subject: not an access token.
        if claims.nbf.is_some() {
            return Err(TokenError::WrongKind);
        }
        let user_id = claims
            .sub
            .as_deref()
            .and_then(|s| Uuid::parse_str(s).ok())
            .map(UserId::from)
            .ok_or(TokenError::WrongKind)?;
        let exp = claims.exp.ok_or(TokenError::Invalid)?;
        let issued = match claims.iat {
            Some(iat) if iat.is_finite() => iat,
            _ => exp - self.access_ttl.num_seconds() as f64,
        };
        Ok(VerifiedAccess {
            user_id,
            issued_at_micros: micros(issued),
            expires_at_micros: micros(exp),
            fingerprint: token_fingerprint(token),
        })
    }

    /// Mints a password-reset token for `email` (float `exp`, like the reference).
    pub fn issue_reset(&self, email: &str) -> String {
        let now = Utc::now();
        let exp = (now + self.reset_ttl).timestamp_micros() as f64 / 1e6;
        self.encode(&ResetClaimsOut {
            exp,
            nbf: now.timestamp(),
            iat: now.timestamp_micros() as f64 / 1e6,
            sub: email,
        })
    }

    /// Verifies a password-reset token and returns the email it names.
    pub fn verify_reset(&self, token: &str) -> Result<String, TokenError> {
        self.verify_reset_token(token).map(|v| v.email)
    }

    /// Verifies a password-reset token and returns its email and issue time.
    pub fn verify_reset_token(&self, token: &str) -> Result<VerifiedReset, TokenError> {
        let claims = self.decode(token)?;
        let sub = claims.sub.ok_or(TokenError::Invalid)?;
        if !sub.contains('@') {
            return Err(TokenError::WrongKind);
        }
        let exp = claims.exp.ok_or(TokenError::Invalid)?;
        let issued = claims
            .iat
            .filter(|v| v.is_finite())
            .or(claims.nbf.filter(|v| v.is_finite()))
            .unwrap_or(exp - self.reset_ttl.num_seconds() as f64);
        Ok(VerifiedReset {
            email: sub,
            issued_at_micros: micros(issued),
        })
    }

    fn encode<T: Serialize>(&self, claims: &T) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 encoding of plain claims cannot fail")
    }

    /// Checks the signature, then `exp` (required) and `nbf` (optional)
    /// ourselves, accepting integer and float timestamps alike.
    fn decode(&self, token: &str) -> Result<AnyClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        let claims = self
            .decoding
            .iter()
            .find_map(|key| jsonwebtoken::decode::<AnyClaims>(token, key, &validation).ok())
            .ok_or(TokenError::Invalid)?
            .claims;
        let now = Utc::now().timestamp_micros() as f64 / 1e6;
        let exp = claims.exp.ok_or(TokenError::Invalid)?;
        if !exp.is_finite() || exp <= now {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = claims.nbf
            && (!nbf.is_finite() || nbf > now)
        {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_lowercase_hex_sha256() {
        assert_eq!(
            token_fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac_free::sign;

    /// Builds tokens byte by byte, like PyJWT does, to prove interop without
    /// going through our own encoder.
    mod hmac_free {
        use super::*;
        pub fn sign(secret: &[u8], payload: &str) -> String {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
            let body = URL_SAFE_NO_PAD.encode(payload.as_bytes());
            let signing_input = format!("{header}.{body}");
            let sig = jsonwebtoken::crypto::sign(
                signing_input.as_bytes(),
                &EncodingKey::from_secret(secret),
                Algorithm::HS256,
            )
            .unwrap();
            format!("{signing_input}.{sig}")
        }
    }

    fn keys() -> TokenKeys {
        TokenKeys::new(b"s3cret", Duration::minutes(5), Duration::hours(48))
    }

    #[test]
    fn access_roundtrip() {
        let id = UserId::random();
        assert_eq!(keys().verify_access(&keys().issue_access(id)).unwrap(), id);
    }

    #[test]
    fn reference_style_access_token_is_accepted() {
        let id = UserId::random();
        let exp = Utc::now().timestamp() + 60;
        let token = sign(b"s3cret", &format!(r#"{{"exp":{exp},"sub":"{id}"}}"#));
        assert_eq!(keys().verify_access(&token).unwrap(), id);
    }

    #[test]
    fn reference_style_reset_token_with_float_exp_is_accepted() {
        let now = Utc::now().timestamp();
        let token = sign(
            b"s3cret",
            &format!(
                r#"{{"exp":{}.512345,"nbf":{now},"sub":"a@example.com"}}"#,
                now + 3600
            ),
        );
        assert_eq!(keys().verify_reset(&token).unwrap(), "a@example.com");
        assert_eq!(
            keys().verify_access(&token).unwrap_err(),
            TokenError::WrongKind
        );
    }

    #[test]
    fn reset_token_has_float_exp_and_int_nbf() {
        let token = keys().issue_reset("a@example.com");
        let payload = token.split('.').nth(1).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(json["exp"].is_f64(), "{json}");
        assert!(json["nbf"].is_i64(), "{json}");
        assert_eq!(keys().verify_reset(&token).unwrap(), "a@example.com");
    }

    #[test]
    fn issue_times_come_from_iat_else_exp_minus_lifetime() {
        let id = UserId::random();
        let before = Utc::now().timestamp_micros();
        let ours = keys()
            .verify_access_token(&keys().issue_access(id))
            .unwrap();
        assert!((before..=Utc::now().timestamp_micros()).contains(&ours.issued_at_micros));
        let exp = Utc::now().timestamp() + 60;
        let token = sign(b"s3cret", &format!(r#"{{"exp":{exp},"sub":"{id}"}}"#));
        let theirs = keys().verify_access_token(&token).unwrap();
        assert_eq!(theirs.issued_at_micros, (exp - 300) * 1_000_000);
        assert_eq!(theirs.fingerprint, token_fingerprint(&token));
        assert_eq!(theirs.fingerprint.len(), 64);
        let now = Utc::now().timestamp();
        let reset = sign(
            b"s3cret",
            &format!(
                r#"{{"exp":{},"nbf":{now},"sub":"a@example.com"}}"#,
                now + 60
            ),
        );
        assert_eq!(
            keys().verify_reset_token(&reset).unwrap().issued_at_micros,
            now * 1_000_000
        );
    }

    #[test]
    fn previous_keys_verify_but_never_sign() {
        let id = UserId::random();
        let old = keys().issue_access(id);
        let rotated = TokenKeys::with_previous(
            b"new-key",
            &[b"s3cret"],
            Duration::minutes(5),
            Duration::hours(48),
        );
        assert_eq!(rotated.verify_access(&old).unwrap(), id);
        let fresh = rotated.issue_access(id);
        assert_eq!(
            keys().verify_access(&fresh).unwrap_err(),
            TokenError::Invalid
        );
        let only_new = TokenKeys::new(b"new-key", Duration::minutes(5), Duration::hours(48));
        assert_eq!(
            only_new.verify_access(&old).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn expired_forged_and_garbage_tokens_are_rejected() {
        let id = UserId::random();
        let expired = sign(
            b"s3cret",
            &format!(r#"{{"exp":{},"sub":"{id}"}}"#, Utc::now().timestamp() - 1),
        );
        assert_eq!(
            keys().verify_access(&expired).unwrap_err(),
            TokenError::Expired
        );
        let forged = sign(
            b"other",
            &format!(r#"{{"exp":{},"sub":"{id}"}}"#, Utc::now().timestamp() + 60),
        );
        assert_eq!(
            keys().verify_access(&forged).unwrap_err(),
            TokenError::Invalid
        );
        for garbage in ["", "abc", "a.b.c", "....", "eyJhbGciOiJub25lIn0.e30."] {
            assert_eq!(
                keys().verify_access(garbage).unwrap_err(),
                TokenError::Invalid,
                "{garbage}"
            );
        }
        let no_exp = sign(b"s3cret", &format!(r#"{{"sub":"{id}"}}"#));
        assert_eq!(
            keys().verify_access(&no_exp).unwrap_err(),
            TokenError::Invalid
        );
        let access_as_reset = keys().issue_access(id);
        assert!(keys().verify_reset(&access_as_reset).is_err());
    }
}
