//! Userhub telemetry: logging, metrics and tracing, set up in one place,
//! and the HTTP edge every router shares (request ids, probes, security
//! headers).
//!
//! - [`TelemetrySettings`] and [`init`]: the process-wide subscriber (JSON or
//!   text logs, OpenTelemetry traces over OTLP when configured, W3C
//!   propagation); the returned [`TelemetryGuard`] flushes spans on shutdown.
//! - [`Metrics`]: a cheap `Clone` handle on a Prometheus registry, passed in
//!   application state (no global registry).
//! - [`HttpTelemetryLayer`]: per-request id (tower-http's request-id layers,
//!   [`RequestId`]), span, access log and HTTP metrics for the API and web
//!   routers.
//! - [`probe_router`]: `/livez` and `/readyz`, one body shape wherever probes
//!   are answered, ready unless [`Draining`] or a [`Readiness`] check fails.
//! - [`admin_router`]: `/metrics` and the probes for the admin listener,
//!   served from its own thread by [`AdminServer`].
//! - [`api_security_headers`], [`page_security_headers`]: the security
//!   headers of API responses and of the UI's pages.
//! - [`inject_current_context`] and [`client_span`]: trace context for
//!   outgoing HTTP calls.

mod admin;
mod build_info;
mod collectors;
mod error;
mod exposition;
mod http_layer;
mod init;
mod json_log;
mod metrics;
mod probes;
mod propagation;
mod request_id;
mod security_headers;
mod settings;
#[cfg(feature = "testing")]
pub mod testing;

pub use admin::{AdminServer, admin_router};
pub use build_info::BuildInfo;
pub use collectors::PoolGauges;
pub use error::TelemetryError;
pub use exposition::{Format, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE};
pub use http_layer::{HttpTelemetry, HttpTelemetryLayer, UNMATCHED_ROUTE, record_user_id};
pub use init::{TelemetryGuard, init, init_with_writer};
pub use json_log::{
    JsonLogLayer, MAX_LOGGED_FIELD_BYTES, MAX_LOGGED_HEADER_BYTES, error_chain, truncate_for_log,
};
pub use metrics::{LoginOutcome, Metrics};
pub use probes::{Draining, Readiness, Unready, probe_router};
pub use propagation::{client_span, extract_context, inject_context, inject_current_context};
pub use request_id::{REQUEST_ID_HEADER, RequestId};
pub use security_headers::{PAGE_CSP, api_security_headers, harden_page, page_security_headers};
pub use settings::{
    DEFAULT_ADMIN_BIND, LogFormat, OtlpProtocol, OtlpSettings, SamplerSetting, TelemetrySettings,
};
