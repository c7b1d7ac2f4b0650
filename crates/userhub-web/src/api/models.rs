//! The API's JSON models, as the contract defines them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct UserPublic {
    pub id: String,
    pub email: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub full_name: Option<String>,
    pub created_at: Option<String>,
}

impl UserPublic {
    /// The name to greet the user with: full name, else email.
    pub fn display_name(&self) -> &str {
        match self.full_name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => name,
            _ => &self.email,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct UsersPublic {
    pub data: Vec<UserPublic>,
    pub count: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct ItemPublic {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub owner_id: String,
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ItemsPublic {
    pub data: Vec<ItemPublic>,
    pub count: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Message {
    pub message: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Token {
    pub access_token: String,
    pub token_type: String,
}

/// Fields of a user created or edited by a superuser.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserForm {
    pub email: String,
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub is_active: bool,
    pub is_superuser: bool,
}
