//! Response bodies, fields in the order the reference serialises them.
//! Doc comments on types become schema descriptions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserPublic {
    pub email: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub full_name: Option<String>,
    pub id: Uuid,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UsersPublic {
    pub data: Vec<UserPublic>,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItemPublic {
    pub title: String,
    pub description: Option<String>,
    pub id: Uuid,
    pub owner_id: Uuid,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemsPublic {
    pub data: Vec<ItemPublic>,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub message: String,
}

impl Message {
    pub fn new(message: &str) -> Self {
        Self {
            message: message.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Token {
    pub access_token: String,
    #[schema(default = "bearer")]
    pub token_type: String,
}

/// An error answer: `{"detail": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub detail: String,
}

/// A 422 answer: one entry per problem.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HTTPValidationError {
    pub detail: Vec<ValidationErrorEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidationErrorEntry {
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub input: serde_json::Value,
}
