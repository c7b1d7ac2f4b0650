//! UUID path parameters: anything else is a 422 naming the parameter.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use serde_json::Value;
use userhub_core::{ItemId, UserId};
use uuid::Uuid;

use super::issue::{Loc, ValidationIssue};
use crate::error::ApiError;

/// Names a path parameter and the identifier it holds.
pub trait ParamName {
    const NAME: &'static str;
    type Id: From<Uuid>;
}

#[derive(Debug)]
pub struct UserIdParam;
impl ParamName for UserIdParam {
    const NAME: &'static str = "user_id";
    type Id = UserId;
}

#[derive(Debug)]
pub struct ItemIdParam;
impl ParamName for ItemIdParam {
    const NAME: &'static str = "id";
    type Id = ItemId;
}

/// The identifier in path parameter `N::NAME`.
#[derive(Debug)]
pub struct PathId<N: ParamName>(pub N::Id, pub PhantomData<N>);

impl<S: Send + Sync, N: ParamName> FromRequestParts<S> for PathId<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let loc = vec![Loc::from("path"), Loc::from(N::NAME)];
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::Validation(vec![ValidationIssue::new(
                    "uuid_parsing",
                    loc.clone(),
                    "Input should be a valid UUID",
                    Value::Null,
                )])
            })?;
        let raw = params
            .iter()
            .find(|(k, _)| *k == N::NAME)
            .map(|(_, v)| v)
            .unwrap_or_default();
        Uuid::parse_str(raw)
            .map(|id| Self(id.into(), PhantomData))
            .map_err(|e| {
                ApiError::Validation(vec![ValidationIssue::new(
                    "uuid_parsing",
                    loc,
                    format!("Input should be a valid UUID, {e}"),
                    Value::String(raw.to_owned()),
                )])
            })
    }
}
