//! Request and response bodies as the contract names them. Requests are
//! read through [`FromJson`] into validated domain types.

use chrono::{DateTime, Utc};
use serde::Serialize;
use userhub_core::{Description, Email, FullName, Item, Password, Title, User};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{FromJson, ObjectReader, ValidationIssue};

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPublic {
    pub email: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub full_name: Option<String>,
    pub id: Uuid,
    pub created_at: Option<DateTime<Utc>>,
}

impl From<User> for UserPublic {
    fn from(u: User) -> Self {
        Self {
            email: u.email.into_string(),
            is_active: u.is_active,
            is_superuser: u.is_superuser,
            full_name: u.full_name.map(FullName::into_string),
            id: u.id.as_uuid(),
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsersPublic {
    pub data: Vec<UserPublic>,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemPublic {
    pub title: String,
    pub description: Option<String>,
    pub id: Uuid,
    pub owner_id: Uuid,
    pub created_at: Option<DateTime<Utc>>,
}

impl From<Item> for ItemPublic {
    fn from(i: Item) -> Self {
        Self {
            title: i.title.into_string(),
            description: i.description.map(Description::into_string),
            id: i.id.as_uuid(),
            owner_id: i.owner_id.as_uuid(),
            created_at: i.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemsPublic {
    pub data: Vec<ItemPublic>,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
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

#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    pub access_token: String,
    #[schema(default = "bearer")]
    pub token_type: String,
}

/// An error answer: `{"detail": "..."}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub detail: String,
}

/// A 422 answer: one entry per problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct HTTPValidationError {
    pub detail: Vec<ValidationErrorEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationErrorEntry {
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub input: serde_json::Value,
}

/// The OAuth2 password-flow form.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct BodyLoginLoginAccessToken {
    #[schema(pattern = "^password$")]
    grant_type: Option<String>,
    username: String,
    #[schema(format = Password)]
    password: String,
    #[schema(default = "")]
    scope: Option<String>,
    client_id: Option<String>,
    #[schema(format = Password)]
    client_secret: Option<String>,
}

#[derive(Debug, ToSchema)]
pub struct UserCreate {
    #[schema(value_type = String, format = Email, max_length = 255)]
    pub email: Email,
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    pub password: Password,
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub full_name: Option<FullName>,
    #[schema(required = false, default = true)]
    pub is_active: bool,
    #[schema(required = false, default = false)]
    pub is_superuser: bool,
}

impl FromJson for UserCreate {
    fn from_json(mut r: ObjectReader<'_>) -> Result<Self, Vec<ValidationIssue>> {
        let email = r.required("email", Email::parse);
        let password = r.required("password", Password::parse);
        let full_name = r.optional("full_name", FullName::parse);
        let is_active = r.defaulted_bool("is_active");
        let is_superuser = r.defaulted_bool("is_superuser");
        r.finish(|| {
            Some(Self {
                email: email?,
                password: password?,
                full_name: full_name.flatten(),
                is_active: is_active.unwrap_or(true),
                is_superuser: is_superuser.unwrap_or(false),
            })
        })
    }
}

#[derive(Debug, ToSchema)]
pub struct UserRegister {
    #[schema(value_type = String, format = Email, max_length = 255)]
    pub email: Email,
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    pub password: Password,
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub full_name: Option<FullName>,
}

impl FromJson for UserRegister {
    fn from_json(mut r: ObjectReader<'_>) -> Result<Self, Vec<ValidationIssue>> {
        let email = r.required("email", Email::parse);
        let password = r.required("password", Password::parse);
        let full_name = r.optional("full_name", FullName::parse);
        r.finish(|| {
            Some(Self {
                email: email?,
                password: password?,
                full_name: full_name.flatten(),
            })
        })
    }
}

#[derive(Debug, ToSchema)]
pub struct UserUpdate {
    #[schema(value_type = Option<String>, format = Email, max_length = 255)]
    pub email: Option<Email>,
    /// Absent: unchanged. Not nullable (the reference's `bool = True`).
    #[schema(value_type = bool, required = false, default = true)]
    pub is_active: Option<bool>,
    /// Absent: unchanged. Not nullable (the reference's `bool = False`).
    #[schema(value_type = bool, required = false, default = false)]
    pub is_superuser: Option<bool>,
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub full_name: Option<Option<FullName>>,
    #[schema(value_type = Option<String>, min_length = 8, max_length = 128)]
    pub password: Option<Password>,
}

impl FromJson for UserUpdate {
    fn from_json(mut r: ObjectReader<'_>) -> Result<Self, Vec<ValidationIssue>> {
        let email = r.optional("email", Email::parse);
        let is_active = r.defaulted_bool("is_active");
        let is_superuser = r.defaulted_bool("is_superuser");
        let full_name = r.optional("full_name", FullName::parse);
        let password = r.optional("password", Password::parse);
        r.finish(|| {
            Some(Self {
                email: email.flatten(),
                is_active,
                is_superuser,
                full_name,
                password: password.flatten(),
            })
        })
    }
}

#[derive(Debug, ToSchema)]
pub struct UserUpdateMe {
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub full_name: Option<Option<FullName>>,
    #[schema(value_type = Option<String>, format = Email, max_length = 255)]
    pub email: Option<Email>,
}

impl FromJson for UserUpdateMe {
    fn from_json(mut r: ObjectReader<'_>) -> Result<Self, Vec<ValidationIssue>> {
        let full_name = r.optional("full_name", FullName::parse);
        let email = r.optional("email", Email::parse);
        r.finish(|| {
            Some(Self {
                full_name,
                email: email.flatten(),
            })
        })
    }
}

#[derive(Debug, ToSchema)]
pub struct UpdatePassword {
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    pub current_password: Password,
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    pub new_password: Password,
}

impl FromJson for UpdatePassword {
    fn from_json(mut r: ObjectReader<'_>) -> Result<Self, Vec<ValidationIssue>> {
        let current_password = r.required("current_password", Password::parse);
        let new_password = r.required("new_password", Password::parse);
        r.finish(|| {
            Some(Self {
                current_password: current_password?,
                new_password: new_password?,
            })
        })
    }
}

#[derive(Debug, ToSchema)]
pub struct NewPassword {
    pub token: String,
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    pub new_password: Password,
}

impl FromJson for NewPassword {
    fn from_json(mut r: ObjectReader<'_>) -> Result<Self, Vec<ValidationIssue>> {
        let token = r.required("token", |s| Ok(s.to_owned()));
        let new_password = r.required("new_password", Password::parse);
        r.finish(|| {
            Some(Self {
                token: token?,
                new_password: new_password?,
            })
        })
    }
}

#[derive(Debug, ToSchema)]
pub struct ItemCreate {
    #[schema(value_type = String, min_length = 1, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub title: Title,
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub description: Option<Description>,
}

impl FromJson for ItemCreate {
    fn from_json(mut r: ObjectReader<'_>) -> Result<Self, Vec<ValidationIssue>> {
        let title = r.required("title", Title::parse);
        let description = r.optional("description", Description::parse);
        r.finish(|| {
            Some(Self {
                title: title?,
                description: description.flatten(),
            })
        })
    }
}

#[derive(Debug, ToSchema)]
pub struct ItemUpdate {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub title: Option<Title>,
    #[schema(value_type = Option<String>, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub description: Option<Option<Description>>,
}

impl FromJson for ItemUpdate {
    fn from_json(mut r: ObjectReader<'_>) -> Result<Self, Vec<ValidationIssue>> {
        let title = r.optional("title", Title::parse);
        let description = r.optional("description", Description::parse);
        r.finish(|| {
            Some(Self {
                title: title.flatten(),
                description,
            })
        })
    }
}

#[derive(Debug, ToSchema)]
pub struct PrivateUserCreate {
    #[schema(value_type = String, format = Email, max_length = 255)]
    pub email: Email,
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    pub password: Password,
    #[schema(value_type = String, max_length = 255, pattern = "^[^\\u0000]*$")]
    pub full_name: FullName,
    #[schema(required = false, default = false)]
    pub is_verified: bool,
}

impl FromJson for PrivateUserCreate {
    fn from_json(mut r: ObjectReader<'_>) -> Result<Self, Vec<ValidationIssue>> {
        let email = r.required("email", Email::parse);
        let password = r.required("password", Password::parse);
        let full_name = r.required("full_name", FullName::parse);
        let is_verified = r.defaulted_bool("is_verified");
        r.finish(|| {
            Some(Self {
                email: email?,
                password: password?,
                full_name: full_name?,
                is_verified: is_verified.unwrap_or(false),
            })
        })
    }
}
