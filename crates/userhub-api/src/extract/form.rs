//! The OAuth2 password-flow login form.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

use super::issue::{Loc, ValidationIssue};
use crate::error::ApiError;

/// `username` and `password` from an `application/x-www-form-urlencoded`
/// body; `grant_type`, `scope`, `client_id` and `client_secret` are accepted
/// and ignored, as the contract says.
#[derive(Debug)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
}

impl<S: Send + Sync> FromRequest<S> for LoginForm {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let get = |key: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let input: Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut issues = Vec::new();
        let mut field = |key: &str| match get(key) {
            Some(v) => Some(v),
            None => {
                issues.push(ValidationIssue::missing(
                    vec![Loc::from("body"), Loc::from(key)],
                    Value::Null,
                ));
                None
            }
        };
        let (username, password) = (field("username"), field("password"));
        if let Some(grant) = get("grant_type")
            && grant != "password"
        {
            issues.push(ValidationIssue::new(
                "string_pattern_mismatch",
                vec![Loc::from("body"), Loc::from("grant_type")],
                "String should match pattern '^password$'",
                Value::String(grant),
            ));
        }
        match (username, password) {
            (Some(username), Some(password)) if issues.is_empty() => {
                Ok(Self { username, password })
            }
            _ => {
                let _ = input;
                Err(ApiError::Validation(issues))
            }
        }
    }
}
