//! Password hashing and signed tokens.

mod password_hash;
mod token;

pub use password_hash::{HashError, PasswordHasher, Verification};
pub use token::{AccessClaims, TokenError, TokenKeys};
