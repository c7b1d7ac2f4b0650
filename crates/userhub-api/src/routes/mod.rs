//! One router per feature, merged under `/api/v1` by [`crate::router`].

pub mod items;
pub mod login;
pub mod ops;
pub mod private;
pub mod users;
pub mod utils;
