//! The REST API's wire types: every request and response body as the
//! contract names it, with its JSON shape (serde) and its OpenAPI schema
//! (utoipa). The API answers with these, the web UI's client sends and
//! decodes them, and the tests read them: one definition of each.
//!
//! Request bodies carry raw values: the API reads them into validated
//! domain types itself (answering pydantic-shaped 422s), and the web UI
//! sends what the user typed so that the API's messages are the ones shown.
//!
//! This crate sits low in the workspace: it uses no other Userhub crate.

mod requests;
mod responses;

pub use requests::{
    BodyLoginLoginAccessToken, ItemCreate, ItemUpdate, NewPassword, PrivateUserCreate,
    UpdatePassword, UserCreate, UserRegister, UserUpdate, UserUpdateMe,
};
pub use responses::{
    ErrorDetail, HTTPValidationError, ItemPublic, ItemsPublic, Message, Token, UserPublic,
    UsersPublic, ValidationErrorEntry,
};
