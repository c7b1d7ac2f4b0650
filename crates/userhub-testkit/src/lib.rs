//! Test support shared by Userhub's test suites and `cargo xtask`.
//!
//! - [`postgres`]: throwaway PostgreSQL clusters built from the machine's
//!   `initdb` / `pg_ctl` binaries, one fresh database per test.
//! - [`smtp`]: an in-process SMTP sink that captures what the service sends
//!   and can be told to refuse mail.
//!
//! Nothing here is skipped silently: when PostgreSQL cannot be started, the
//! error says exactly why (which binary was missing where, `initdb`'s stderr,
//! the port, the server log).

pub mod postgres;
pub mod smtp;

pub use postgres::{
    PostgresError, TestPostgres, TestPostgresOptions, create_database, shared_admin_url,
};
pub use smtp::{CapturedMessage, RejectAt, SmtpSink, SmtpSinkError};
