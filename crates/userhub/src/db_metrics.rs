//! The storage layer's reports recorded as metrics: the one place where
//! storage and telemetry meet (neither crate depends on the other).

use std::time::Duration;

use userhub_storage::observe::{DbObserver, DbOutcome, DbQuery, PoolStats, PoolStatsSource};
use userhub_telemetry::{Metrics, PoolGauges};

/// Records each query's duration (and pool timeouts) and exposes the pool's
/// occupancy on every scrape.
#[derive(Debug, Clone)]
pub struct DbMetrics(pub Metrics);

impl DbObserver for DbMetrics {
    fn query_finished(&self, query: &DbQuery, elapsed: Duration, outcome: DbOutcome) {
        self.0
            .record_db_operation(query.operation.label(), query.table, elapsed.as_secs_f64());
        if outcome == DbOutcome::PoolTimeout {
            self.0.record_db_acquire_timeout();
        }
    }

    fn watch_pool(&self, stats: PoolStatsSource) {
        self.0.set_pool_stats_source(move || Reading(stats()));
    }
}

/// The storage layer's pool snapshot, read by telemetry's pool gauges.
struct Reading(PoolStats);

impl PoolGauges for Reading {
    fn in_use(&self) -> u64 {
        self.0.in_use
    }
    fn idle(&self) -> u64 {
        self.0.idle
    }
    fn max(&self) -> u64 {
        self.0.max
    }
    fn waiters(&self) -> u64 {
        self.0.waiters
    }
}
