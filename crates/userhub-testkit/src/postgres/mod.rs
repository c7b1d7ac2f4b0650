//! Throwaway PostgreSQL clusters for tests.
//!
//! [`TestPostgres::start`] runs `initdb` + `pg_ctl start` in a temporary
//! directory, listening on a free port of 127.0.0.1 (and a unix socket inside
//! the temporary directory), tuned for speed, with trust authentication. The
//! cluster is stopped and its directory removed when the value is dropped, and
//! a watchdog process stops it if this process dies without dropping it.
//!
//! [`shared_admin_url`] gives every test of a process the same server: the one
//! named by `USERHUB_TEST_POSTGRES_URL`, else one cluster started on first use.
//! [`create_database`] makes a fresh database on it for one test.

mod binaries;
mod cluster;
mod database;
mod error;
mod os_user;
mod shared;
mod watchdog;

pub use binaries::{default_search_dirs, find_bin_dir};
pub use cluster::{TestPostgres, TestPostgresOptions, initdb};
pub use database::{create_database, with_database};
pub use error::PostgresError;
pub use os_user::RunAs;
pub use shared::{ENV_URL, shared_admin_url};
