//! `skip` and `limit` query parameters (deviation: bounded, 422 otherwise).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{Value, json};
use userhub_core::{DEFAULT_LIMIT, MAX_LIMIT, PageRequest};

use super::issue::{Loc, ValidationIssue};
use crate::error::ApiError;

/// A validated page request from the query string.
#[derive(Debug, Clone, Copy)]
pub struct Pagination(pub PageRequest);

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
        let mut issues = Vec::new();
        let skip = read(&pairs, "skip", 0, 0, i64::MAX, &mut issues);
        let limit = read(&pairs, "limit", DEFAULT_LIMIT, 0, MAX_LIMIT, &mut issues);
        if !issues.is_empty() {
            return Err(ApiError::Validation(issues));
        }
        Ok(Self(PageRequest { skip, limit }))
    }
}

/// Reads an integer query parameter with bounds (last occurrence wins).
pub(crate) fn read(
    pairs: &[(String, String)],
    key: &str,
    default: i64,
    min: i64,
    max: i64,
    issues: &mut Vec<ValidationIssue>,
) -> i64 {
    let Some((_, raw)) = pairs.iter().rev().find(|(k, _)| k == key) else {
        return default;
    };
    let loc = vec![Loc::from("query"), Loc::from(key)];
    let input = Value::String(raw.clone());
    let Ok(value) = raw.trim().parse::<i64>() else {
        issues.push(ValidationIssue::new(
            "int_parsing",
            loc,
            "Input should be a valid integer, unable to parse string as an integer",
            input,
        ));
        return default;
    };
    if value < min {
        let mut issue = ValidationIssue::new(
            "greater_than_equal",
            loc,
            format!("Input should be greater than or equal to {min}"),
            input,
        );
        issue.ctx = json!({ "ge": min });
        issues.push(issue);
    } else if value > max {
        let mut issue = ValidationIssue::new(
            "less_than_equal",
            loc,
            format!("Input should be less than or equal to {max}"),
            input,
        );
        issue.ctx = json!({ "le": max });
        issues.push(issue);
    }
    value
}
