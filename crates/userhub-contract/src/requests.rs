//! Request bodies with their schema constraints. Fields a request may omit
//! are `Option`s left out when `None`; `Option<Option<_>>` is a field that
//! may be omitted (unchanged) or `null` (cleared). Doc comments on types
//! and fields become schema descriptions in the OpenAPI document.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The OAuth2 password-flow form.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct BodyLoginLoginAccessToken {
    #[schema(pattern = "^password$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
    #[schema(default = "")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[schema(format = Password)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserCreate {
    #[schema(format = Email, max_length = 255)]
    pub email: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(max_length = 255, pattern = "^[^\\u0000]*$")]
    pub full_name: Option<String>,
    #[schema(required = false, default = true)]
    pub is_active: bool,
    #[schema(required = false, default = false)]
    pub is_superuser: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserRegister {
    #[schema(format = Email, max_length = 255)]
    pub email: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(max_length = 255, pattern = "^[^\\u0000]*$")]
    pub full_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UserUpdate {
    #[schema(value_type = Option<String>, format = Email, max_length = 255)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Absent: unchanged. Not nullable (the reference's `bool = True`).
    #[schema(value_type = bool, required = false, default = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// Absent: unchanged. Not nullable (the reference's `bool = False`).
    #[schema(value_type = bool, required = false, default = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_superuser: Option<bool>,
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[^\\u0000]*$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<Option<String>>,
    #[schema(value_type = Option<String>, min_length = 8, max_length = 128)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UserUpdateMe {
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[^\\u0000]*$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<Option<String>>,
    #[schema(value_type = Option<String>, format = Email, max_length = 255)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UpdatePassword {
    #[schema(min_length = 8, max_length = 128)]
    pub current_password: String,
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewPassword {
    pub token: String,
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemCreate {
    #[schema(min_length = 1, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub title: String,
    #[schema(max_length = 255, pattern = "^[^\\u0000]*$")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ItemUpdate {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255, pattern = "^[^\\u0000]*$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[^\\u0000]*$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrivateUserCreate {
    #[schema(format = Email, max_length = 255)]
    pub email: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(max_length = 255, pattern = "^[^\\u0000]*$")]
    pub full_name: String,
    #[schema(required = false, default = false)]
    pub is_verified: bool,
}
