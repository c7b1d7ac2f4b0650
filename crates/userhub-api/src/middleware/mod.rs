//! Cross-cutting HTTP behaviour of the API: the request id in opaque 500s,
//! timeouts, CORS, panics and unknown routes (request ids and security
//! headers themselves are telemetry's).

mod cors;
mod fallback;
pub mod request_id;
mod timeout;

pub use cors::cors_layer;
pub use fallback::{method_not_allowed, not_found};
pub use request_id::request_id;
pub use timeout::{RequestTimeout, request_timeout};
