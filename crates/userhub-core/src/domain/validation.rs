//! The reason a value was rejected, in the vocabulary of the API contract's
//! 422 entries (`type`, `msg`, optional `ctx`).

use serde_json::{Value, json};

/// Why a raw value could not become a domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{msg}")]
pub struct ValidationError {
    /// Machine-readable kind, e.g. `string_too_short`.
    pub kind: &'static str,
    /// Human-readable message.
    pub msg: String,
    /// Extra context (`min_length`, `reason`, …) or `Null`.
    pub ctx: Value,
}

impl ValidationError {
    pub fn new(kind: &'static str, msg: impl Into<String>) -> Self {
        Self {
            kind,
            msg: msg.into(),
            ctx: Value::Null,
        }
    }

    pub fn too_short(min: usize) -> Self {
        let unit = if min == 1 { "character" } else { "characters" };
        Self {
            kind: "string_too_short",
            msg: format!("String should have at least {min} {unit}"),
            ctx: json!({ "min_length": min }),
        }
    }

    pub fn too_long(max: usize) -> Self {
        let unit = if max == 1 { "character" } else { "characters" };
        Self {
            kind: "string_too_long",
            msg: format!("String should have at most {max} {unit}"),
            ctx: json!({ "max_length": max }),
        }
    }
}

/// Checks a string's length in characters (not bytes), as the contract counts.
pub(crate) fn check_len(s: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    let n = s.chars().count();
    if n < min {
        return Err(ValidationError::too_short(min));
    }
    if n > max {
        return Err(ValidationError::too_long(max));
    }
    Ok(())
}

/// Rejects NUL characters, which PostgreSQL cannot store in text columns.
pub(crate) fn check_no_nul(s: &str) -> Result<(), ValidationError> {
    if s.contains('\0') {
        return Err(ValidationError::new(
            "string_pattern_mismatch",
            "String should not contain NUL characters",
        ));
    }
    Ok(())
}
