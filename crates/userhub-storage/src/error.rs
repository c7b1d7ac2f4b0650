//! Storage errors: conflicts the service turns into 4xx answers, everything
//! else an opaque 500 at the HTTP edge.

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A unique constraint refused the write (e.g. a duplicate email).
    #[error("unique constraint violated")]
    Conflict,
    /// No connection became free within the acquire timeout.
    #[error("timed out waiting for a database connection")]
    PoolTimeout,
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut => Self::PoolTimeout,
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            _ => Self::Database(e),
        }
    }
}
