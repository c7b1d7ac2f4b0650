//! Storage errors: conflicts the service turns into 4xx answers, an
//! unavailable database into 503 (retry), everything else an opaque 500 at
//! the HTTP edge.

use sqlx::migrate::MigrateError;

use crate::observe::DbOutcome;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A unique constraint the service knows refused the write. (Any other
    /// unique violation is a bug, not a conflict: `Database`.)
    #[error("unique constraint {0:?} violated")]
    Conflict(Constraint),
    /// No connection became free within the acquire timeout.
    #[error("timed out waiting for a database connection")]
    PoolTimeout,
    /// The database cannot be reached or dropped the connection (refused,
    /// reset, shut down, restarting, closed pool): retrying later can
    /// succeed, so the HTTP edge answers 503 like a pool timeout.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    /// A migration's SQL failed; its transaction was rolled back.
    #[error("migration {version} failed")]
    MigrationFailed {
        version: i64,
        #[source]
        source: sqlx::Error,
    },
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

/// The unique constraints whose violation is the caller's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// The email is taken: the reference's `ix_user_email` on `email` or
    /// Userhub's `ix_userhub_user_email_canonical` on its canonical form.
    UserEmail,
}

impl Constraint {
    /// PostgreSQL names the violated index; SQLite names its columns
    /// (`UNIQUE constraint failed: user.email`).
    fn of(db: &dyn sqlx::error::DatabaseError) -> Option<Self> {
        let name = match db.constraint() {
            Some(name) => name,
            None => db.message().strip_prefix("UNIQUE constraint failed: ")?,
        };
        match name {
            "ix_user_email"
            | "ix_userhub_user_email_canonical"
            | "user.email"
            | "user.email_canonical" => Some(Self::UserEmail),
            _ => None,
        }
    }
}

impl StorageError {
    /// How the failed query ended, for its observer.
    pub(crate) fn outcome(&self) -> DbOutcome {
        match self {
            Self::Conflict(_) => DbOutcome::Conflict,
            Self::PoolTimeout => DbOutcome::PoolTimeout,
            Self::Unavailable(_) => DbOutcome::Unavailable,
            Self::Migration(_) | Self::MigrationFailed { .. } | Self::Database(_) => {
                DbOutcome::Failed
            }
        }
    }

    /// Whether the failure is transient: the request may succeed when
    /// retried (503 with `Retry-After`), as opposed to a bug or bad data.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::PoolTimeout | Self::Unavailable(_))
    }
}

/// SQLSTATE classes and codes that mean "the server is going away or not
/// accepting connections", not "this statement is wrong": class 08
/// (connection exception), 57P01 admin shutdown, 57P02 crash shutdown,
/// 57P03 cannot connect now, 53300 too many connections, 40001/40P01 are
/// deliberately absent (serialisation failures are the caller's business).
fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// SQLite's primary result codes 5 (`SQLITE_BUSY`) and 6 (`SQLITE_LOCKED`),
/// reported by sqlx as the (possibly extended) numeric code.
fn is_sqlite_busy(code: &str) -> bool {
    code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut => Self::PoolTimeout,
            sqlx::Error::Database(db) if db.is_unique_violation() => match Constraint::of(&**db) {
                Some(constraint) => Self::Conflict(constraint),
                None => Self::Database(e),
            },
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e),
            sqlx::Error::Database(db)
                if db.code().is_some_and(|code| {
                    is_unavailable_sqlstate(&code)
                        || (db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                            && is_sqlite_busy(&code))
                }) =>
            {
                Self::Unavailable(e)
            }
            _ => Self::Database(e),
        }
    }
}

/// Sqlx's migrator refusing or failing, in Userhub's words.
impl From<MigrateError> for StorageError {
    fn from(e: MigrateError) -> Self {
        match e {
            MigrateError::Execute(e) => e.into(),
            MigrateError::ExecuteMigration(source, version) => {
                Self::MigrationFailed { version, source }
            }
            MigrateError::VersionMismatch(version) => Self::Migration(format!(
                "migration {version} was changed after it was applied; add a new migration instead"
            )),
            MigrateError::VersionMissing(version) => Self::Migration(format!(
                "the database has migration {version}, which this build does not know: it was migrated by a newer Userhub"
            )),
            MigrateError::Dirty(version) => Self::Migration(format!(
                "migration {version} is recorded as failed part-way in _sqlx_migrations; repair the database by hand"
            )),
            other => Self::Migration(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_are_unavailable() {
        for e in [
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
            sqlx::Error::Protocol("unexpected end of stream".into()),
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
        ] {
            assert!(StorageError::from(e).is_unavailable());
        }
        assert!(StorageError::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(!StorageError::from(sqlx::Error::RowNotFound).is_unavailable());
    }

    #[test]
    fn shutdown_sqlstates_are_unavailable() {
        for code in ["57P01", "57P02", "57P03", "08006", "08003", "53300"] {
            assert!(is_unavailable_sqlstate(code), "{code}");
        }
        for code in ["23505", "42P01", "40001", "22P02"] {
            assert!(!is_unavailable_sqlstate(code), "{code}");
        }
        assert!(is_sqlite_busy("5") && is_sqlite_busy("517") && is_sqlite_busy("6"));
        assert!(!is_sqlite_busy("19") && !is_sqlite_busy("2067"));
    }
}
