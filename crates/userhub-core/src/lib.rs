//! Userhub's domain: the validated value types every other crate speaks in
//! (emails, passwords, titles, …), the user and item records, the
//! authorisation rules, password hashing, signed tokens, and configuration.
//!
//! Nothing here knows about HTTP or SQL: the API crate maps these types to the
//! wire, the storage crate to rows.

pub mod config;
pub mod domain;
pub mod security;

pub use domain::{
    DEFAULT_LIMIT, Description, Email, FullName, Item, ItemId, ItemPatch, MAX_LIMIT, NewItem,
    NewUser, Page, PageRequest, Password, Title, User, UserId, UserPatch, ValidationError,
    canonical_email,
};
