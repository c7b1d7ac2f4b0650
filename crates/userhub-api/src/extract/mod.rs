//! Request extractors that reject bad input with the contract's 422 shape
//! (`{"detail": [{type, loc, msg, input}]}`) instead of axum's plain-text
//! rejections.

mod body;
mod client_ip;
mod form;
mod issue;
mod page;
mod path_id;

pub use body::{FromJson, JsonBody, ObjectReader};
pub use client_ip::{ClientIp, client_ip};
pub use form::LoginForm;
pub use issue::ValidationIssue;
pub use page::Pagination;
pub use path_id::{ItemIdParam, PathId, UserIdParam};
