//! Request bodies read into validated domain types (through [`FromJson`],
//! answering the contract's 422s), and records turned into the contract's
//! responses. The wire types themselves, with their OpenAPI schemas, are
//! `userhub_contract`'s: each body here is the validated form of the
//! contract type of the same name.

use userhub_contract::{ItemPublic, UserPublic};
use userhub_core::{Description, Email, FullName, Item, Password, Title, User};

use crate::extract::{FromJson, ObjectReader, ValidationIssue};

/// A user as the API shows it.
pub fn user_public(u: User) -> UserPublic {
    UserPublic {
        email: u.email.into_string(),
        is_active: u.is_active,
        is_superuser: u.is_superuser,
        full_name: u.full_name.map(FullName::into_string),
        id: u.id.as_uuid(),
        created_at: u.created_at,
    }
}

/// An item as the API shows it.
pub fn item_public(i: Item) -> ItemPublic {
    ItemPublic {
        title: i.title.into_string(),
        description: i.description.map(Description::into_string),
        id: i.id.as_uuid(),
        owner_id: i.owner_id.as_uuid(),
        created_at: i.created_at,
    }
}

#[derive(Debug)]
pub struct UserCreate {
    pub email: Email,
    pub password: Password,
    pub full_name: Option<FullName>,
    pub is_active: bool,
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

#[derive(Debug)]
pub struct UserRegister {
    pub email: Email,
    pub password: Password,
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

#[derive(Debug)]
pub struct UserUpdate {
    pub email: Option<Email>,
    /// Absent: unchanged. Not nullable (the reference's `bool = True`).
    pub is_active: Option<bool>,
    /// Absent: unchanged. Not nullable (the reference's `bool = False`).
    pub is_superuser: Option<bool>,
    pub full_name: Option<Option<FullName>>,
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

#[derive(Debug)]
pub struct UserUpdateMe {
    pub full_name: Option<Option<FullName>>,
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

#[derive(Debug)]
pub struct UpdatePassword {
    pub current_password: Password,
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

#[derive(Debug)]
pub struct NewPassword {
    pub token: String,
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

#[derive(Debug)]
pub struct ItemCreate {
    pub title: Title,
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

#[derive(Debug)]
pub struct ItemUpdate {
    pub title: Option<Title>,
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

#[derive(Debug)]
pub struct PrivateUserCreate {
    pub email: Email,
    pub password: Password,
    pub full_name: FullName,
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
