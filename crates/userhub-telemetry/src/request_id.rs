//! `X-Request-Id`: accepted from the client when well-formed, else generated.

use http::HeaderValue;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request's id, also in the request extensions for handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The client's id if it is 1..=128 characters of `[A-Za-z0-9._:-]`
    /// (nothing that could forge log lines), else a new UUID v4.
    pub fn accept_or_generate(header: Option<&HeaderValue>) -> Self {
        header
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                (1..=128).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
            })
            .map(|v| Self(v.to_owned()))
            .unwrap_or_else(|| Self(uuid::Uuid::new_v4().to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_safe_ids_and_replaces_others() {
        let ok = HeaderValue::from_static("abc-123_x.y:z");
        assert_eq!(RequestId::accept_or_generate(Some(&ok)).0, "abc-123_x.y:z");
        for bad in ["", "has space", "quote\"", &"x".repeat(129)] {
            let v = HeaderValue::from_str(bad).unwrap();
            let id = RequestId::accept_or_generate(Some(&v)).0;
            assert_ne!(id, bad);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
        assert!(uuid::Uuid::parse_str(&RequestId::accept_or_generate(None).0).is_ok());
    }
}
