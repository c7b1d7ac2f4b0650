//! JSON request bodies: read, parsed and validated field by field, so that
//! every problem is reported at once with its location, as the contract's
//! 422 answers do.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};
use userhub_core::ValidationError;

use super::issue::{Loc, ValidationIssue};
use crate::error::ApiError;

/// A request type built from a JSON object with validation.
pub trait FromJson: Sized {
    fn from_json(object: ObjectReader<'_>) -> Result<Self, Vec<ValidationIssue>>;
}

/// A validated JSON body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: FromJson> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = match req.headers().get(CONTENT_TYPE) {
            None => true,
            Some(value) => value.to_str().is_ok_and(is_json_content_type),
        };
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        let body = vec![Loc::from("body")];
        if bytes.is_empty() {
            return Err(ApiError::Validation(vec![ValidationIssue::missing(
                body,
                Value::Null,
            )]));
        }
        if !is_json {
            let input = Value::String(String::from_utf8_lossy(&bytes).into_owned());
            return Err(ApiError::Validation(vec![not_an_object(body, input)]));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            let mut issue = ValidationIssue::new(
                "json_invalid",
                vec![Loc::from("body"), Loc::Index(e.column())],
                "JSON decode error",
                Value::Object(Map::new()),
            );
            issue.ctx = serde_json::json!({ "error": e.to_string() });
            ApiError::Validation(vec![issue])
        })?;
        let Value::Object(map) = &value else {
            return Err(ApiError::Validation(vec![not_an_object(
                body,
                value.clone(),
            )]));
        };
        T::from_json(ObjectReader::new(map))
            .map(JsonBody)
            .map_err(ApiError::Validation)
    }
}

fn is_json_content_type(value: &str) -> bool {
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

fn not_an_object(loc: Vec<Loc>, input: Value) -> ValidationIssue {
    ValidationIssue::new(
        "model_attributes_type",
        loc,
        "Input should be a valid dictionary or object to extract fields from",
        input,
    )
}

/// Reads typed fields out of a JSON object, collecting every problem.
#[derive(Debug)]
pub struct ObjectReader<'a> {
    object: &'a Map<String, Value>,
    issues: Vec<ValidationIssue>,
}

impl<'a> ObjectReader<'a> {
    pub fn new(object: &'a Map<String, Value>) -> Self {
        Self {
            object,
            issues: Vec::new(),
        }
    }

    fn loc(key: &str) -> Vec<Loc> {
        vec![Loc::from("body"), Loc::from(key)]
    }

    fn fail(&mut self, key: &str, err: ValidationError, input: &Value) {
        self.issues.push(ValidationIssue::from_domain(
            err,
            Self::loc(key),
            input.clone(),
        ));
    }

    /// A required string field parsed by `parse`.
    pub fn required<T>(
        &mut self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, ValidationError>,
    ) -> Option<T> {
        match self.object.get(key) {
            None => {
                self.issues.push(ValidationIssue::missing(
                    Self::loc(key),
                    Value::Object(self.object.clone()),
                ));
                None
            }
            Some(value) => self.string(key, value, &parse),
        }
    }

    /// An optional string field: `None` absent, `Some(None)` explicit null.
    pub fn optional<T>(
        &mut self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, ValidationError>,
    ) -> Option<Option<T>> {
        match self.object.get(key) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(value) => self.string(key, value, &parse).map(Some),
        }
    }

    /// An optional boolean field (lenient like the reference: `true`,
    /// `"yes"`, `1`, …); null counts as absent.
    /// A boolean field that may be left out but is not nullable (pydantic's
    /// `bool = default`): `null` is a `bool_type` error.
    pub fn defaulted_bool(&mut self, key: &str) -> Option<bool> {
        match self.object.get(key) {
            Some(Value::Null) => {
                self.fail(
                    key,
                    ValidationError::new("bool_type", "Input should be a valid boolean"),
                    &Value::Null,
                );
                None
            }
            _ => self.optional_bool(key),
        }
    }

    pub fn optional_bool(&mut self, key: &str) -> Option<bool> {
        let value = self.object.get(key)?;
        let parsed = match value {
            Value::Null => return None,
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_i64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
                "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if parsed.is_none() {
            self.fail(
                key,
                ValidationError::new("bool_type", "Input should be a valid boolean"),
                value,
            );
        }
        parsed
    }

    fn string<T>(
        &mut self,
        key: &str,
        value: &Value,
        parse: &impl Fn(&str) -> Result<T, ValidationError>,
    ) -> Option<T> {
        let Value::String(s) = value else {
            self.fail(
                key,
                ValidationError::new("string_type", "Input should be a valid string"),
                value,
            );
            return None;
        };
        match parse(s) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(key, e, value);
                None
            }
        }
    }

    /// Ends reading: the built value when no field failed.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Vec<ValidationIssue>> {
        if !self.issues.is_empty() {
            return Err(self.issues);
        }
        build().ok_or_else(|| {
            vec![ValidationIssue::new(
                "value_error",
                vec![Loc::from("body")],
                "Invalid body",
                Value::Null,
            )]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            assert!(is_json_content_type(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "json",
        ] {
            assert!(!is_json_content_type(bad), "{bad}");
        }
    }
}
