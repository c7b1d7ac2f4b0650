//! What the storage layer reports to its observer, on a temporary SQLite
//! database: one report per query, named after the query, with its outcome;
//! a unique violation of the email is a conflict on that constraint; the
//! pool's occupancy can be read through the observer.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::user;
use userhub_core::config::{DatabaseSettings, Secret};
use userhub_storage::observe::{DbObserver, DbOperation, DbOutcome, DbQuery, PoolStatsSource};
use userhub_storage::{Constraint, Database, StorageError};

#[derive(Default)]
struct Recorder {
    queries: Mutex<Vec<(DbQuery, DbOutcome)>>,
    pool: Mutex<Option<PoolStatsSource>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl DbObserver for Recorder {
    fn query_finished(&self, query: &DbQuery, _: Duration, outcome: DbOutcome) {
        self.queries.lock().unwrap().push((*query, outcome));
    }

    fn watch_pool(&self, stats: PoolStatsSource) {
        *self.pool.lock().unwrap() = Some(stats);
    }
}

#[tokio::test]
async fn every_query_is_reported_and_email_conflicts_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let settings = DatabaseSettings {
        url: Secret::from(format!("sqlite://{}", dir.path().join("t.db").display())),
        pool_size: 2,
        acquire_timeout: Duration::from_secs(5),
        migrate_on_start: true,
    };
    let recorder = Arc::new(Recorder::default());
    let db = Database::connect(&settings, recorder.clone())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    recorder.queries.lock().unwrap().clear();

    let alice = db.insert_user(user("alice@example.com")).await.unwrap();
    assert!(db.user_by_id(alice.id).await.unwrap().is_some());
    let err = db.insert_user(user("ALICE@example.com")).await.unwrap_err();
    assert!(
        matches!(err, StorageError::Conflict(Constraint::UserEmail)),
        "{err:?}"
    );

    let seen: Vec<(&str, DbOperation, &str, DbOutcome)> = recorder
        .queries
        .lock()
        .unwrap()
        .iter()
        .map(|(q, o)| (q.name, q.operation, q.table, *o))
        .collect();
    assert_eq!(
        seen,
        [
            ("db.user.insert", DbOperation::Insert, "user", DbOutcome::Ok),
            ("db.user.get", DbOperation::Select, "user", DbOutcome::Ok),
            (
                "db.user.insert",
                DbOperation::Insert,
                "user",
                DbOutcome::Conflict
            ),
        ]
    );

    let stats = recorder.pool.lock().unwrap().clone().unwrap()();
    assert_eq!(stats.max, 2);
    assert_eq!(stats.waiters, 0);
    assert_eq!(stats.max, db.pool_stats().max);
    assert!(stats.in_use + stats.idle <= stats.max, "{stats:?}");
    db.close().await;
}
