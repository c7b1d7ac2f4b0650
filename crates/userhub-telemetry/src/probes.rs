//! `/livez` and `/readyz`: one router and one body shape for every listener
//! that answers probes (the API's and the web UI's port, the admin listener).
//!
//! - `GET /livez`: 200 `{"status":"ok"}` while the process serves;
//! - `GET /readyz`: 200 `{"status":"ready"}`, or 503
//!   `{"status":"unavailable","reason":…}` (plus the check's details) once
//!   shutdown began ([`Draining`]) or when the readiness check fails.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{Map, Value, json};

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

/// Why a process is not ready: the `reason` of the 503 body, and any
/// further fields it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Unready {
    pub reason: &'static str,
    pub details: Map<String, Value>,
}

impl Unready {
    pub fn new(reason: &'static str) -> Self {
        Self {
            reason,
            details: Map::new(),
        }
    }

    /// Adds a field to the 503 body.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

type Check =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), Unready>> + Send>> + Send + Sync>;

/// What `/readyz` consults: shutdown first, then `check`.
#[derive(Clone)]
pub struct Readiness {
    draining: Draining,
    check: Check,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("draining", &self.draining)
            .finish_non_exhaustive()
    }
}

impl Readiness {
    /// Ready unless draining or `check` fails.
    pub fn new<F, Fut>(draining: Draining, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Unready>> + Send + 'static,
    {
        Self {
            draining,
            check: Arc::new(move || Box::pin(check())),
        }
    }

    /// Ready whenever the process serves and is not shutting down.
    pub fn serving(draining: Draining) -> Self {
        Self::new(draining, || async { Ok(()) })
    }

    /// The same readiness, its check run on the runtime behind `handle`
    /// (the one owning the resources the check uses, such as a database
    /// pool), so it can be answered from another runtime: the admin
    /// listener's thread.
    pub fn on_runtime(self, handle: tokio::runtime::Handle) -> Self {
        let check = self.check;
        Self::new(self.draining, move || {
            let (check, handle) = (check.clone(), handle.clone());
            async move {
                handle
                    .spawn(check())
                    .await
                    .unwrap_or_else(|_| Err(Unready::new("shutting down")))
            }
        })
    }

    /// The `/readyz` answer.
    pub async fn answer(&self) -> (StatusCode, Json<Value>) {
        let verdict = if self.draining.is_draining() {
            Err(Unready::new("shutting down"))
        } else {
            (self.check)().await
        };
        match verdict {
            Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
            Err(Unready {
                reason,
                mut details,
            }) => {
                details.insert("status".to_owned(), "unavailable".into());
                details.insert("reason".to_owned(), reason.into());
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(Value::Object(details)),
                )
            }
        }
    }
}

/// `/livez` and `/readyz`, for a router of any state.
pub fn probe_router<S>(readiness: Readiness) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/livez", get(|| async { Json(json!({ "status": "ok" })) }))
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move { readiness.answer().await }
            }),
        )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get(router: &Router, path: &str) -> (StatusCode, Value) {
        let response = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn one_body_shape_for_live_ready_and_unavailable() {
        let draining = Draining::default();
        let router: Router = probe_router(Readiness::new(draining.clone(), || async {
            Err(Unready::new("migrations pending").with("applied", 3))
        }));
        assert_eq!(
            get(&router, "/livez").await,
            (StatusCode::OK, json!({ "status": "ok" }))
        );
        assert_eq!(
            get(&router, "/readyz").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "status": "unavailable", "reason": "migrations pending", "applied": 3 })
            )
        );
        let serving: Router = probe_router(Readiness::serving(draining.clone()));
        assert_eq!(
            get(&serving, "/readyz").await,
            (StatusCode::OK, json!({ "status": "ready" }))
        );
        draining.start();
        assert_eq!(
            get(&serving, "/readyz").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "status": "unavailable", "reason": "shutting down" })
            )
        );
        assert_eq!(get(&serving, "/livez").await.0, StatusCode::OK);
    }
}
