//! Migrations on SQLite and PostgreSQL, run by sqlx's migrator: a fresh
//! database gets every migration once; a reference database is adopted with
//! its schema as a baseline; a database Userhub migrated before it used
//! sqlx's migrator has the versions of `userhub_migrations` carried over,
//! never run again, and is refused when they do not match this build; an
//! edited migration is detected; migrators starting together take turns.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection as _;
use support::user;
use userhub_core::config::{DatabaseSettings, Secret};
use userhub_storage::observe::DbObserver;
use userhub_storage::{Database, MigrationReport};

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The migration files of the backend, as Userhub's earlier migrator
/// embedded them.
fn migration_files(b: Backend) -> [&'static str; 4] {
    match b {
        Backend::Postgres => [
            include_str!("../migrations/postgres/0001_reference_schema.sql"),
            include_str!("../migrations/postgres/0002_lookup_indexes.sql"),
            include_str!("../migrations/postgres/0003_auth_state.sql"),
            include_str!("../migrations/postgres/0004_flat_pages.sql"),
        ],
        Backend::Sqlite => [
            include_str!("../migrations/sqlite/0001_schema.sql"),
            include_str!("../migrations/sqlite/0002_lookup_indexes.sql"),
            include_str!("../migrations/sqlite/0003_auth_state.sql"),
            include_str!("../migrations/sqlite/0004_flat_pages.sql"),
        ],
    }
}

/// The checksum Userhub's earlier migrator recorded (FNV-1a, 16 hex digits).
fn fnv1a(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The table of Userhub's earlier migrator, as it created it.
const LEGACY_TABLE: &str = "CREATE TABLE userhub_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    checksum TEXT NOT NULL,
    baselined BOOLEAN NOT NULL,
    applied_at TEXT NOT NULL)";

#[derive(Debug)]
struct NoObserver;

impl DbObserver for NoObserver {
    fn query_finished(
        &self,
        _: &userhub_storage::observe::DbQuery,
        _: Duration,
        _: userhub_storage::observe::DbOutcome,
    ) {
    }
    fn watch_pool(&self, _: userhub_storage::observe::PoolStatsSource) {}
}

async fn database_url(b: Backend, dir: &std::path::Path) -> String {
    match b {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("t.db").display()),
        Backend::Postgres => {
            let admin = userhub_testkit::shared_admin_url().unwrap_or_else(|e| {
                panic!("PostgreSQL is required for this test and could not be started: {e}")
            });
            userhub_testkit::create_database(&admin).await.unwrap()
        }
    }
}

async fn connect(url: &str) -> Database {
    let settings = DatabaseSettings {
        url: Secret::from(url.to_owned()),
        pool_size: 2,
        acquire_timeout: Duration::from_secs(10),
        migrate_on_start: true,
    };
    Database::connect(&settings, Arc::new(NoObserver))
        .await
        .unwrap()
}

/// Runs SQL text on the database, outside Userhub.
async fn exec(url: &str, sql: &str) {
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

/// `(version, description)` of every row of `_sqlx_migrations` recorded as a success.
async fn recorded(url: &str) -> Vec<(i64, String)> {
    let sql = "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version";
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
    }
}

/// A database as Userhub's earlier migrator left it after applying the
/// first `n` migrations: the schema, and their rows in `userhub_migrations`.
fn legacy_database(b: Backend, n: usize) -> String {
    let mut sql = format!("{LEGACY_TABLE};\n");
    for (i, file) in migration_files(b).iter().take(n).enumerate() {
        sql.push_str(file);
        sql.push_str(&format!(
            "\nINSERT INTO userhub_migrations VALUES ({}, 'migration', '{}', FALSE, '2026-03-01T10:00:00.5+00:00');\n",
            i + 1,
            fnv1a(file)
        ));
    }
    sql
}

async fn fresh_database_gets_every_migration_once(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(b, dir.path()).await;
    let db = connect(&url).await;
    assert!(!db.schema_status().await.unwrap().is_current());
    let report = db.migrate().await.unwrap();
    assert_eq!(
        report,
        MigrationReport {
            applied: vec![1, 2, 3, 4],
            ..MigrationReport::default()
        }
    );
    assert!(db.schema_status().await.unwrap().is_current());
    assert_eq!(db.migrate().await.unwrap(), MigrationReport::default());
    assert_eq!(recorded(&url).await.len(), 4);
    db.close().await;
}

async fn reference_schema_is_recorded_as_baseline(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(b, dir.path()).await;
    let schema = migration_files(b)[0];
    exec(
        &url,
        &format!(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);\n{schema}"
        ),
    )
    .await;
    let db = connect(&url).await;
    let report = db.migrate().await.unwrap();
    assert_eq!((report.baselined, report.applied), (Some(1), vec![2, 3, 4]));
    let rows = recorded(&url).await;
    assert_eq!(rows.len(), 4);
    assert!(
        rows[0].1.ends_with("(baseline: adopted, not run)"),
        "{rows:?}"
    );
    db.insert_user(user("after-adoption@example.com"))
        .await
        .unwrap();
    let again = db.migrate().await.unwrap();
    assert_eq!((again.baselined, again.applied), (None, vec![]));
    db.close().await;
}

async fn userhub_migrations_are_carried_over(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(b, dir.path()).await;
    exec(&url, &legacy_database(b, 4)).await;
    let db = connect(&url).await;
    let alice = db.insert_user(user("alice@example.com")).await.unwrap();
    let report = db.migrate().await.unwrap();
    assert_eq!(
        report,
        MigrationReport {
            carried_over: vec![1, 2, 3, 4],
            ..MigrationReport::default()
        },
        "carried over, nothing run again"
    );
    assert_eq!(
        recorded(&url).await.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(db.schema_status().await.unwrap().is_current());
    // Sqlx validates the carried-over checksums on the next run.
    assert_eq!(db.migrate().await.unwrap(), MigrationReport::default());
    assert!(db.user_by_id(alice.id).await.unwrap().is_some());
    db.close().await;

    // A database the earlier migrator left half-way gets the rest run.
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(b, dir.path()).await;
    exec(&url, &legacy_database(b, 2)).await;
    let db = connect(&url).await;
    let report = db.migrate().await.unwrap();
    assert_eq!(
        (report.carried_over, report.applied),
        (vec![1, 2], vec![3, 4])
    );
    db.close().await;
}

/// An edited or unknown migration stops the run with the reason: in
/// `userhub_migrations` before the first run (then nothing is carried over),
/// or in `_sqlx_migrations` (sqlx's own check).
async fn edited_or_unknown_migrations_are_refused(b: Backend) {
    for (legacy, tamper, expected) in [
        (
            true,
            "UPDATE userhub_migrations SET checksum = 'edited' WHERE version = 2",
            "was changed after it was applied",
        ),
        (
            true,
            "INSERT INTO userhub_migrations VALUES (5, 'future', '0000000000000000', FALSE, '2026-03-01T10:00:00+00:00')",
            "migrated by a newer Userhub",
        ),
        (
            false,
            "UPDATE _sqlx_migrations SET checksum = (SELECT checksum FROM _sqlx_migrations WHERE version = 2) WHERE version = 1",
            "changed after it was applied",
        ),
        (
            false,
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) SELECT 99, 'future', success, checksum, 0 FROM _sqlx_migrations WHERE version = 1",
            "migrated by a newer Userhub",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let url = database_url(b, dir.path()).await;
        let db = if legacy {
            exec(&url, &format!("{}{tamper}", legacy_database(b, 4))).await;
            connect(&url).await
        } else {
            let db = connect(&url).await;
            db.migrate().await.unwrap();
            exec(&url, tamper).await;
            db
        };
        let err = db.migrate().await.unwrap_err();
        assert!(err.to_string().contains(expected), "{tamper}: {err}");
        if legacy {
            let applied = db.schema_status().await.unwrap().applied;
            assert_eq!(applied, 0, "nothing carried over");
        }
        db.close().await;
    }
}

async fn migrators_starting_together_take_turns(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(b, dir.path()).await;
    let (one, two) = (connect(&url).await, connect(&url).await);
    let (a, b2) = tokio::join!(one.migrate(), two.migrate());
    let mut applied = [a.unwrap().applied, b2.unwrap().applied];
    applied.sort();
    assert_eq!(applied, [vec![], vec![1, 2, 3, 4]]);
    one.close().await;
    two.close().await;
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Backend::Postgres).await } )*
        }
    };
}

on_both_backends![
    fresh_database_gets_every_migration_once,
    reference_schema_is_recorded_as_baseline,
    userhub_migrations_are_carried_over,
    edited_or_unknown_migrations_are_refused,
    migrators_starting_together_take_turns,
];
