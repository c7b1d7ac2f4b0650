//! One entry of a 422 answer.

use serde::Serialize;
use serde_json::Value;
use userhub_core::ValidationError;

/// A path segment of `loc`: a field name or an index.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Loc {
    Key(String),
    Index(usize),
}

impl From<&str> for Loc {
    fn from(s: &str) -> Self {
        Self::Key(s.to_owned())
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValidationIssue {
    #[serde(rename = "type")]
    pub kind: String,
    pub loc: Vec<Loc>,
    pub msg: String,
    pub input: Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub ctx: Value,
}

impl ValidationIssue {
    pub fn new(kind: &str, loc: Vec<Loc>, msg: impl Into<String>, input: Value) -> Self {
        Self {
            kind: kind.to_owned(),
            loc,
            msg: msg.into(),
            input,
            ctx: Value::Null,
        }
    }

    pub fn from_domain(err: ValidationError, loc: Vec<Loc>, input: Value) -> Self {
        Self {
            kind: err.kind.to_owned(),
            loc,
            msg: err.msg,
            input,
            ctx: err.ctx,
        }
    }

    pub fn missing(loc: Vec<Loc>, input: Value) -> Self {
        Self::new("missing", loc, "Field required", input)
    }
}
