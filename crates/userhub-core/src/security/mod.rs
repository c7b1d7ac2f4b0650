//! Password hashing and signed tokens.

mod hash_workers;
mod password_hash;
mod token;

pub use hash_workers::{HASH_NICE, WorkerError};
pub use password_hash::{HashError, Observer, PasswordHasher, Verification};
pub use token::{
    AccessClaims, TokenError, TokenKeys, VerifiedAccess, VerifiedReset, token_fingerprint,
};
