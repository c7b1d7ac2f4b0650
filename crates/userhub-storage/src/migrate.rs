//! Embedded migrations. Applied versions are recorded in
//! `userhub_migrations` with a checksum, so an edited migration is detected
//! rather than silently diverging. A PostgreSQL database created by the
//! reference (it has `alembic_version` and `"user"`) is adopted in place:
//! the schema migration is recorded as a baseline instead of being run, and
//! only the additive migrations after it are applied.

use tracing::{info, instrument, warn};

use sqlx::Connection as _;

use crate::backend::{Backend, with_conn};
use crate::{Database, StorageError};

struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        description: "reference schema",
        sql: include_str!("../migrations/postgres/0001_reference_schema.sql"),
    },
    Migration {
        version: 2,
        description: "lookup indexes",
        sql: include_str!("../migrations/postgres/0002_lookup_indexes.sql"),
    },
    Migration {
        version: 3,
        description: "canonical emails, login attempts, token revocation",
        sql: include_str!("../migrations/postgres/0003_auth_state.sql"),
    },
    Migration {
        version: 4,
        description: "flat pages: list-order indexes, exact counts kept by triggers",
        sql: include_str!("../migrations/postgres/0004_flat_pages.sql"),
    },
];

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        description: "schema",
        sql: include_str!("../migrations/sqlite/0001_schema.sql"),
    },
    Migration {
        version: 2,
        description: "lookup indexes",
        sql: include_str!("../migrations/sqlite/0002_lookup_indexes.sql"),
    },
    Migration {
        version: 3,
        description: "canonical emails, login attempts, token revocation",
        sql: include_str!("../migrations/sqlite/0003_auth_state.sql"),
    },
    Migration {
        version: 4,
        description: "flat pages: list-order indexes, exact counts kept by triggers",
        sql: include_str!("../migrations/sqlite/0004_flat_pages.sql"),
    },
];

/// Arbitrary constant for `pg_advisory_xact_lock`, so that replicas starting
/// together migrate one after the other.
const MIGRATION_LOCK_ID: i64 = 0x0075_7365_7268_7562;

/// What `migrate` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<i64>,
    /// Set when an existing reference database was adopted.
    pub baselined: Option<i64>,
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
    fn migrations(&self) -> &'static [Migration] {
        match self.backend {
            Backend::Postgres(_) => POSTGRES,
            Backend::Sqlite(_) => SQLITE,
        }
    }

    /// Brings the schema up to date.
    #[instrument(name = "db.migrate", skip_all, fields(db.system = self.system()))]
    pub async fn migrate(&self) -> Result<MigrationReport, StorageError> {
        let mut report = MigrationReport::default();
        let migrations = self.migrations();
        with_conn!(self, conn => once {
            let mut tx = conn.begin().await?;
            if let Backend::Postgres(_) = self.backend {
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK_ID).execute(&mut *tx).await?;
            }
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS userhub_migrations (
                    version BIGINT PRIMARY KEY,
                    description TEXT NOT NULL,
                    checksum TEXT NOT NULL,
                    baselined BOOLEAN NOT NULL,
                    applied_at TEXT NOT NULL)",
            )
            .execute(&mut *tx)
            .await?;
            let applied: Vec<(i64, String)> = sqlx::query_as("SELECT version, checksum FROM userhub_migrations ORDER BY version")
                .fetch_all(&mut *tx)
                .await?;
            for (version, checksum) in &applied {
                match migrations.iter().find(|m| m.version == *version) {
                    Some(m) if checksum_of(m.sql) == *checksum => {}
                    Some(m) => {
                        return Err(StorageError::Migration(format!(
                            "migration {} ({}) was changed after it was applied; add a new migration instead",
                            m.version, m.description
                        )));
                    }
                    None => {
                        return Err(StorageError::Migration(format!(
                            "the database has migration {version}, which this build does not know: it was migrated by a newer Userhub"
                        )));
                    }
                }
            }
            let reference_tables: i64 = sqlx::query_scalar(self.reference_tables_sql()).fetch_one(&mut *tx).await?;
            let adopt = applied.is_empty() && reference_tables == 2;
            for m in migrations.iter().filter(|m| !applied.iter().any(|(v, _)| *v == m.version)) {
                let baseline = adopt && m.version == 1;
                if baseline {
                    info!(version = m.version, "adopting an existing reference database: schema recorded as baseline, not recreated");
                    report.baselined = Some(m.version);
                } else {
                    sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
                    info!(version = m.version, description = m.description, "applied migration");
                    report.applied.push(m.version);
                }
                sqlx::query("INSERT INTO userhub_migrations (version, description, checksum, baselined, applied_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(m.version)
                    .bind(m.description)
                    .bind(checksum_of(m.sql))
                    .bind(baseline)
                    .bind(chrono::Utc::now().to_rfc3339())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        report.canonicalised = self.backfill_canonical_emails().await?;
        report.case_duplicates = self.case_duplicate_emails().await?;
        for (email, n) in &report.case_duplicates {
            warn!(count = n, email_lowercased = %email, "users share an email that differs only by case; left unchanged (exact-case matches win at login)");
        }
        Ok(report)
    }

    /// Applied versus expected schema version; errors when the database
    /// cannot be reached.
    #[instrument(name = "db.schema_status", skip_all, fields(db.system = self.system(), db.operation.name = "SELECT", db.collection.name = "userhub_migrations", db.query.text = SCHEMA_VERSION_SQL, otel.kind = "client"))]
    pub async fn schema_status(&self) -> Result<SchemaStatus, StorageError> {
        let expected = self.migrations().last().map_or(0, |m| m.version);
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

    /// Counts the reference's tables (`alembic_version`, `"user"`); 2 means
    /// the database was created by the reference.
    fn reference_tables_sql(&self) -> &'static str {
        match self.backend {
            Backend::Postgres(_) => {
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('alembic_version', 'user')"
            }
            Backend::Sqlite(_) => {
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('alembic_version', 'user')"
            }
        }
    }
}

const SCHEMA_VERSION_SQL: &str = "SELECT max(version) FROM userhub_migrations";

/// FNV-1a over the SQL text: enough to notice an edited migration.
fn checksum_of(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}
