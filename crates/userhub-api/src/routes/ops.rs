//! Probes for orchestrators: `/livez` (the process answers) and `/readyz`
//! (the database answers within [`READINESS_TIMEOUT`], its schema is
//! current, and the server is not shutting down).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;

/// The longest `/readyz` waits for the database before answering 503: well
/// under the usual 1 s probe timeout, and independent of the pool's acquire
/// timeout (which is sized for requests, not probes).
pub const READINESS_TIMEOUT: Duration = Duration::from_millis(750);

/// Raised once shutdown begins: from then on readiness fails, so load
/// balancers stop routing new traffic here while the server keeps serving
/// for the shutdown delay, then drains. Cheap to clone; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
}

pub async fn livez() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    readiness(&state.db, &state.draining).await
}

fn unavailable(reason: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "reason": reason })),
    )
}

/// The readiness answer for `db` (shared with the admin listener).
pub async fn readiness(
    db: &userhub_storage::Database,
    draining: &Draining,
) -> (StatusCode, Json<Value>) {
    if draining.is_draining() {
        return unavailable("shutting down");
    }
    match tokio::time::timeout(READINESS_TIMEOUT, db.schema_status()).await {
        Ok(Ok(status)) if status.is_current() => {
            (StatusCode::OK, Json(json!({ "status": "ready" })))
        }
        Ok(Ok(status)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "unavailable", "reason": "migrations pending", "applied": status.applied, "expected": status.expected }),
            ),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            unavailable("database unavailable")
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = READINESS_TIMEOUT.as_millis() as u64,
                "readiness check: the database did not answer in time"
            );
            unavailable("database unavailable")
        }
    }
}
