//! One PostgreSQL server per test process.

use std::sync::OnceLock;

use super::{PostgresError, TestPostgres};

/// Environment variable naming an existing server to use instead of starting one.
pub const ENV_URL: &str = "USERHUB_TEST_POSTGRES_URL";

static SHARED: OnceLock<Result<TestPostgres, String>> = OnceLock::new();

/// Admin URL of the server shared by every test of this process.
///
/// Uses `USERHUB_TEST_POSTGRES_URL` when set (as `cargo xtask test` does);
/// otherwise starts one [`TestPostgres`] on first use, kept for the life of
/// the process and stopped by its watchdog when the process exits. A failed
/// start fails every caller with the same reason.
pub fn shared_admin_url() -> Result<String, PostgresError> {
    if let Ok(url) = std::env::var(ENV_URL)
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    match SHARED.get_or_init(|| TestPostgres::start().map_err(|e| e.to_string())) {
        Ok(cluster) => Ok(cluster.admin_url()),
        Err(reason) => Err(PostgresError::Shared(reason.clone())),
    }
}
