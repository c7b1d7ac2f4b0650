//! The `userhub` binary's library half: application assembly (check the
//! configuration, build the state, run migrations, seed the first
//! superuser, serve until shutdown) kept out of `main` so integration tests
//! start the real server on `127.0.0.1:0`.

pub mod app;
pub mod db_metrics;
pub mod error;
pub mod healthcheck;
pub mod launch;
pub mod server;
pub mod shed;
pub mod shutdown;
pub mod superuser;
pub mod web;

pub use app::{Application, Mode, Parts};
pub use error::StartupError;
pub use launch::launch;
