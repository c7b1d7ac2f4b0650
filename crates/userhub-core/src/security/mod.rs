//! Password hashing and signed tokens.

mod password_hash;
mod token;

pub use password_hash::{HashError, Observer, PasswordHasher, Verification};
pub use token::{
    AccessClaims, TokenError, TokenKeys, VerifiedAccess, VerifiedReset, token_fingerprint,
};
