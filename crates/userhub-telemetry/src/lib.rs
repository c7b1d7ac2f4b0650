//! Userhub telemetry: logging, metrics and tracing, set up in one place.
//!
//! The rest of the workspace records through [`Metrics`], a cheap `Clone`
//! handle passed in application state (no global registry).

mod metrics;

pub use metrics::{LoginOutcome, Metrics};
