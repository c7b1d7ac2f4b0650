//! The admin listener's router: `/metrics` and the probes.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::exposition::Format;
use crate::metrics::Metrics;
use crate::probes::{Readiness, probe_router};

/// `/metrics` (Prometheus text or OpenMetrics by `Accept`) and the probes
/// of [`probe_router`]. Serve it on its own listener (`USERHUB_ADMIN_BIND`).
pub fn admin_router(metrics: Metrics, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(metrics)
        .merge(probe_router(readiness))
}

async fn metrics_handler(State(metrics): State<Metrics>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let body = metrics.render(format);
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

/// The admin listener served from a thread of its own.
#[derive(Debug)]
pub struct AdminServer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AdminServer {
    /// Serves `router` on `listener` from a dedicated OS thread running a
    /// single-threaded runtime. A scrape then waits for the kernel to
    /// schedule that thread, not behind every queued request task of a
    /// saturated main runtime. Handlers that need the main runtime's
    /// resources (the database pool) must run their work there (see
    /// [`crate::Readiness::on_runtime`]).
    pub fn start(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<Self> {
        let listener = listener.into_std()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("userhub-admin".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, "admin listener failed");
                            return;
                        }
                    };
                    // Scrapes are not drained: stopping drops open connections.
                    tokio::select! {
                        result = axum::serve(listener, router).into_future() => {
                            if let Err(e) = result {
                                tracing::error!(error = %e, "admin listener failed");
                            }
                        }
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops accepting scrapes and waits for the thread to end.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}
