//! Userhub persistence: one [`Database`] handle over SQLite (the embedded
//! default) or PostgreSQL, embedded migrations with adoption of an existing
//! reference database, and the user and item repositories.
//!
//! The SQL is shared by both backends; what differs between them (schema
//! DDL, connection options, catalogue queries) lives in [`backend`] and the
//! `migrations/` folders.

mod auth_state;
pub mod backend;
mod error;
mod items;
mod lease;
mod migrate;
pub mod observe;
mod rows;
mod users;

pub use auth_state::LoginReservation;
pub use backend::Database;
pub use error::{Constraint, StorageError};
pub use migrate::{MigrationReport, SchemaStatus};
