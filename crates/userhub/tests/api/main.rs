//! The whole API contract, run against the real server on SQLite and on
//! PostgreSQL.

#![allow(clippy::unwrap_used)]

mod adoption;
mod auth;
mod email;
mod items;
mod lifecycle;
mod rate_limit;
mod replicas;
mod security;
mod support;
mod users;
mod validation;
