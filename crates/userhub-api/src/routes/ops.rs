//! The API's readiness: the database answers within [`READINESS_TIMEOUT`]
//! and its schema is current. `/livez` and `/readyz` themselves are
//! telemetry's [`probe_router`], which also fails readiness once shutdown
//! began.

use std::time::Duration;

use userhub_storage::Database;
use userhub_telemetry::{Readiness, Unready, probe_router};

use crate::state::AppState;

/// The longest `/readyz` waits for the database before answering 503: well
/// under the usual 1 s probe timeout, and independent of the pool's acquire
/// timeout (which is sized for requests, not probes).
pub const READINESS_TIMEOUT: Duration = Duration::from_millis(750);

/// `/livez` and `/readyz` of the API's port.
pub fn router(state: &AppState) -> axum::Router<AppState> {
    probe_router(readiness(state))
}

/// The API's readiness (shared by its port and the admin listener).
pub fn readiness(state: &AppState) -> Readiness {
    let db = state.db.clone();
    Readiness::new(state.draining.clone(), move || {
        let db = db.clone();
        async move { database_ready(&db).await }
    })
}

/// Whether `db` answers in time with a current schema.
pub async fn database_ready(db: &Database) -> Result<(), Unready> {
    match tokio::time::timeout(READINESS_TIMEOUT, db.schema_status()).await {
        Ok(Ok(status)) if status.is_current() => Ok(()),
        Ok(Ok(status)) => Err(Unready::new("migrations pending")
            .with("applied", status.applied)
            .with("expected", status.expected)),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            Err(Unready::new("database unavailable"))
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = READINESS_TIMEOUT.as_millis() as u64,
                "readiness check: the database did not answer in time"
            );
            Err(Unready::new("database unavailable"))
        }
    }
}
