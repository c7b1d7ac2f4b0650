//! Probes for orchestrators: `/livez` (the process answers) and `/readyz`
//! (the database answers and its schema is current).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
}

pub async fn livez() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    readiness(&state.db).await
}

/// The readiness answer for `db` (shared with the admin listener).
pub async fn readiness(db: &userhub_storage::Database) -> (StatusCode, Json<Value>) {
    match db.schema_status().await {
        Ok(status) if status.is_current() => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(status) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "unavailable", "reason": "migrations pending", "applied": status.applied, "expected": status.expected }),
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "reason": "database unavailable" })),
            )
        }
    }
}
