//! What the storage layer reports about its work, and the trait through
//! which it reports it. Storage calls a [`DbObserver`] it is given; the
//! application implements it with its metrics, so storage and telemetry do
//! not know each other.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The kind of statement a query runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbOperation {
    Select,
    Insert,
    Update,
    Delete,
}

impl DbOperation {
    /// Lowercase, as the `db_operation_name` metric label holds it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Select => "select",
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    /// The SQL verb, as the `db.operation.name` span attribute holds it.
    pub const fn verb(self) -> &'static str {
        match self {
            Self::Select => "SELECT",
            Self::Insert => "INSERT",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
        }
    }
}

/// A query as its span and its metric name it: the span name
/// (`db.user.get`), the statement kind and the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbQuery {
    pub name: &'static str,
    pub operation: DbOperation,
    pub table: &'static str,
}

impl DbQuery {
    pub const fn new(name: &'static str, operation: DbOperation, table: &'static str) -> Self {
        Self {
            name,
            operation,
            table,
        }
    }
}

/// How a query ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbOutcome {
    Ok,
    /// A unique constraint refused the write.
    Conflict,
    /// No pool connection became free within the acquire timeout.
    PoolTimeout,
    /// The database could not be reached or went away.
    Unavailable,
    /// Any other database error.
    Failed,
}

/// A snapshot of a connection pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: u64,
    pub idle: u64,
    pub max: u64,
    /// Operations waiting for a connection.
    pub waiters: u64,
}

/// Reads a pool's occupancy on demand (at every metrics scrape).
pub type PoolStatsSource = Arc<dyn Fn() -> PoolStats + Send + Sync>;

/// Receives what the storage layer reports.
pub trait DbObserver: fmt::Debug + Send + Sync {
    /// One query finished after `elapsed`, waiting for a connection included.
    fn query_finished(&self, query: &DbQuery, elapsed: Duration, outcome: DbOutcome);

    /// A pool was opened; `stats` reads its occupancy whenever asked.
    fn watch_pool(&self, stats: PoolStatsSource);
}
