//! Cross-cutting HTTP behaviour: request ids, security headers, timeouts,
//! CORS, panics and unknown routes.

mod cors;
mod fallback;
mod headers;
pub mod request_id;
mod timeout;

pub use cors::cors_layer;
pub use fallback::{method_not_allowed, not_found};
pub use headers::security_headers;
pub use request_id::{RequestId, request_id};
pub use timeout::{RequestTimeout, request_timeout};
