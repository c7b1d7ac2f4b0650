//! Pagination: `skip` >= 0 and `limit` within 0..=1000 (the contract's
//! deviation from the reference, which has no cap).

use serde::Serialize;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub skip: i64,
    pub limit: i64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            skip: 0,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// One page of results plus the total number matching.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub count: i64,
}
