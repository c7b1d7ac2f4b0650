//! What the storage tests share.

use userhub_core::{Email, NewUser};

/// An active, ordinary user with this email.
pub fn user(email: &str) -> NewUser {
    NewUser {
        email: Email::parse(email).expect("a valid email"),
        is_active: true,
        is_superuser: false,
        full_name: None,
        hashed_password: "x".into(),
    }
}
