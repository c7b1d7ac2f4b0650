//! The whole API contract, run against the real server on SQLite and on
//! PostgreSQL.

#![allow(clippy::unwrap_used)]

mod adoption;
mod auth;
mod contract;
mod email;
#[path = "../support/free_port.rs"]
mod free_port;
mod items;
mod lifecycle;
mod outage;
mod rate_limit;
mod replicas;
mod security;
mod support;
mod transport;
mod users;
mod validation;
