//! Embedded migrations, run by sqlx's migrator (`migrations/postgres`,
//! `migrations/sqlite`). Applied versions are recorded in `_sqlx_migrations`
//! with a checksum, so an edited migration stops the run instead of
//! silently diverging. On PostgreSQL, sqlx's advisory lock makes replicas
//! starting together migrate one after the other; SQLite, where sqlx takes
//! no lock, runs everything in one `BEGIN IMMEDIATE` transaction.
//!
//! Before sqlx's first run on a database, [`adopt`] records what the
//! database already holds: the schema of a reference database as a
//! baseline, or the versions Userhub's earlier migrator recorded in
//! `userhub_migrations`.

mod adopt;

use chrono::{DateTime, Utc};
use sqlx::migrate::{Migrate, Migrator};
use sqlx::{ConnectOptions as _, Connection as _};
use tracing::{info, instrument, warn};

use crate::backend::{Backend, with_conn};
use crate::{Database, StorageError};

static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");

/// The tables [`adopt`] looks for, in the current schema.
const POSTGRES_TABLES: &str = "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('alembic_version', 'user', 'userhub_migrations')";
const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('alembic_version', 'user', 'userhub_migrations')";

const SCHEMA_VERSION_SQL: &str = "SELECT max(version) FROM _sqlx_migrations WHERE success";

/// What `migrate` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<i64>,
    /// Set when an existing reference database was adopted.
    pub baselined: Option<i64>,
    /// Versions Userhub's earlier migrator had applied (recorded in
    /// `userhub_migrations`), carried over into `_sqlx_migrations` by this
    /// run instead of being run again.
    pub carried_over: Vec<i64>,
    /// Emails held more than once ignoring case (left unchanged).
    pub case_duplicates: Vec<(String, i64)>,
    /// Rows whose canonical email was filled in by this run.
    pub canonicalised: u64,
}

/// Whether the schema is ready for the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    pub applied: i64,
    pub expected: i64,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.applied >= self.expected
    }
}

impl Database {
    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Postgres(_) => &POSTGRES,
            Backend::Sqlite(_) => &SQLITE,
        }
    }

    /// Brings the schema up to date.
    #[instrument(name = "db.migrate", skip_all, fields(db.system = self.system()))]
    pub async fn migrate(&self) -> Result<MigrationReport, StorageError> {
        // A connection of its own, not a pooled one: sqlx's PostgreSQL lock
        // belongs to the session, and closing the connection releases it
        // whatever happened.
        let mut report = match &self.backend {
            Backend::Postgres(lender) => {
                let mut conn = lender.pool().connect_options().connect().await?;
                let report = run::<sqlx::Postgres>(&mut conn, &POSTGRES, POSTGRES_TABLES).await;
                // The run's outcome matters, not the goodbye.
                let _ = conn.close().await;
                report?
            }
            Backend::Sqlite(lender) => {
                let mut conn = lender.pool().connect_options().connect().await?;
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                let report = run::<sqlx::Sqlite>(&mut tx, &SQLITE, SQLITE_TABLES).await?;
                tx.commit().await?;
                report
            }
        };
        report.canonicalised = self.backfill_canonical_emails().await?;
        report.case_duplicates = self.case_duplicate_emails().await?;
        for (email, n) in &report.case_duplicates {
            warn!(count = n, email_lowercased = %email, "users share an email that differs only by case; left unchanged (exact-case matches win at login)");
        }
        Ok(report)
    }

    /// Applied versus expected schema version; errors when the database
    /// cannot be reached.
    #[instrument(name = "db.schema_status", skip_all, fields(db.system = self.system(), db.operation.name = "SELECT", db.collection.name = "_sqlx_migrations", db.query.text = SCHEMA_VERSION_SQL, otel.kind = "client"))]
    pub async fn schema_status(&self) -> Result<SchemaStatus, StorageError> {
        let expected = self.migrator().iter().last().map_or(0, |m| m.version);
        let applied: Result<Option<i64>, sqlx::Error> = async {
            with_conn!(self, conn => sqlx::query_scalar(SCHEMA_VERSION_SQL).fetch_one(conn).await)
        }
        .await;
        let applied = applied.or_else(|e| match StorageError::from(e) {
            // The table does not exist yet: nothing applied. (A database
            // that is shutting down is `Unavailable`, not "nothing applied".)
            StorageError::Database(sqlx::Error::Database(_)) => Ok(None),
            other => Err(other),
        })?;
        Ok(SchemaStatus {
            applied: applied.unwrap_or(0),
            expected,
        })
    }
}

/// Under sqlx's lock (taken again, re-entrantly, by `Migrator::run`):
/// adoption on the first run, then sqlx's migrator.
async fn run<DB>(
    conn: &mut DB::Connection,
    migrator: &'static Migrator,
    tables_sql: &'static str,
) -> Result<MigrationReport, StorageError>
where
    DB: sqlx::Database,
    DB::Connection: Migrate,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>
        + sqlx::Acquire<'c, Database = DB, Connection = &'c mut DB::Connection>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
    for<'q> Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64, String, bool, String): sqlx::FromRow<'r, DB::Row>,
{
    let mut report = MigrationReport::default();
    conn.lock().await?;
    conn.ensure_migrations_table().await?;
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await?;
    if recorded == 0 {
        let tables: Vec<String> = sqlx::query_scalar(tables_sql).fetch_all(&mut *conn).await?;
        let legacy: Vec<adopt::LegacyRow> = if tables.iter().any(|t| t == "userhub_migrations") {
            sqlx::query_as::<_, (i64, String, bool, String)>(
                "SELECT version, checksum, baselined, applied_at FROM userhub_migrations ORDER BY version",
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(adopt::LegacyRow::from)
            .collect()
        } else {
            Vec::new()
        };
        let adoption = adopt::plan(migrator.iter().as_slice(), &tables, &legacy, Utc::now())?;
        let mut tx = conn.begin().await?;
        for row in &adoption.rows {
            sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
                 VALUES ($1, $2, $3, TRUE, $4, 0)",
            )
            .bind(row.version)
            .bind(row.description.clone())
            .bind(row.installed_on)
            .bind(row.checksum.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if let Some(version) = adoption.baselined {
            info!(
                version,
                "adopting an existing reference database: schema recorded as baseline, not recreated"
            );
        }
        if !adoption.carried_over.is_empty() {
            info!(versions = ?adoption.carried_over, "carried over the versions recorded in userhub_migrations; not run again");
        }
        report.baselined = adoption.baselined;
        report.carried_over = adoption.carried_over;
    }
    let before = conn.list_applied_migrations().await?;
    migrator.run(&mut *conn).await?;
    conn.unlock().await?;
    for m in migrator
        .iter()
        .filter(|m| !before.iter().any(|a| a.version == m.version))
    {
        info!(version = m.version, description = %m.description, "applied migration");
        report.applied.push(m.version);
    }
    Ok(report)
}
