//! What can go wrong talking to the API.

use http::StatusCode;

use crate::transport::TransportError;

/// A failed API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The token is missing, expired or rejected: log in again.
    #[error("not authenticated: {detail}")]
    Unauthenticated { detail: String },
    /// The API refused the request with a message meant for the user
    /// (4xx with a `detail`): shown inline.
    #[error("{status}: {detail}")]
    Rejected { status: StatusCode, detail: String },
    /// The API answered something it should not have (5xx, bad JSON).
    #[error("unexpected API answer: {0}")]
    Unexpected(String),
    /// The API did not answer within `USERHUB_API_TIMEOUT_SECONDS`.
    #[error("the API did not answer in time")]
    Timeout,
    #[error(transparent)]
    Transport(#[from] TransportError),
}

impl ApiError {
    /// The message to show next to a form, when there is one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Rejected { detail, .. } => Some(detail),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Rejected { status, .. } => Some(*status),
            Self::Unauthenticated { .. } => Some(StatusCode::UNAUTHORIZED),
            _ => None,
        }
    }
}

/// The human message in an error body: `detail` as a string, or the `msg`
/// of each validation problem.
pub fn detail_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    match value.get("detail")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(problems) => {
            let messages: Vec<String> = problems
                .iter()
                .filter_map(|p| {
                    let msg = p.get("msg")?.as_str()?;
                    let field = p
                        .get("loc")
                        .and_then(|l| l.as_array())
                        .and_then(|l| l.last())
                        .and_then(|f| f.as_str())
                        .filter(|f| !matches!(*f, "body" | "query" | "path"));
                    Some(match field {
                        Some(f) => format!("{}: {msg}", f.replace('_', " ")),
                        None => msg.to_owned(),
                    })
                })
                .collect();
            (!messages.is_empty()).then(|| messages.join("; "))
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn string_and_validation_details_become_messages() {
        assert_eq!(
            detail_of(br#"{"detail":"Incorrect email or password"}"#).as_deref(),
            Some("Incorrect email or password")
        );
        let v = br#"{"detail":[{"type":"string_too_short","loc":["body","new_password"],"msg":"String should have at least 8 characters","input":"x"},{"type":"x","loc":["body"],"msg":"bad","input":null}]}"#;
        assert_eq!(
            detail_of(v).as_deref(),
            Some("new password: String should have at least 8 characters; bad")
        );
        assert_eq!(detail_of(b"<html>"), None);
        assert_eq!(detail_of(br#"{"detail":[]}"#), None);
    }
}
