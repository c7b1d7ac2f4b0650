//! The two backends behind one handle. Everything backend-specific — how to
//! connect, which DDL to run, how to inspect the catalogue — is in this
//! module and in `migrations/{postgres,sqlite}`; the repositories run the
//! same SQL on both through [`with_conn!`], on a connection lent by the
//! backend's [`Lender`].

use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::observe::{DbObserver, DbOutcome, DbQuery, PoolStats};
use sqlx::pool::PoolConnectionMetadata;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use userhub_core::config::{DatabaseSettings, ExposeSecret};

use crate::StorageError;
use crate::lease::{Lender, PING_IDLE_AFTER};

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Postgres(Arc<Lender<Postgres>>),
    Sqlite(Arc<Lender<Sqlite>>),
}

/// A pooled connection to the service's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Database {
    pub(crate) backend: Backend,
    observer: Arc<dyn DbObserver>,
    /// Queries running or waiting for a connection.
    in_flight: Arc<AtomicU64>,
    pool_size: u32,
}

/// Runs the same expression on a connection lent by whichever backend the
/// database has (`$conn` is a `&mut` connection); the expression is compiled
/// once per backend and gives a `Result<_, sqlx::Error>`. The connection
/// stays warm for the next query unless the expression failed with a
/// connection-level error.
macro_rules! with_conn {
    // One backend's arm: the body is compiled once per connection type.
    (@warm $lender:ident, $conn:ident => $body:expr) => {{
        let mut lease = $lender.lease().await?;
        let result = {
            let $conn = lease.conn();
            $body
        };
        lease.give_back($crate::lease::reusable(&result));
        result
    }};
    ($db:expr, $conn:ident => $body:expr) => {
        match &$db.backend {
            $crate::backend::Backend::Postgres(lender) => $crate::backend::with_conn!(@warm lender, $conn => $body),
            $crate::backend::Backend::Sqlite(lender) => $crate::backend::with_conn!(@warm lender, $conn => $body),
        }
    };
}
pub(crate) use with_conn;

/// Runs one query on whichever pool the database has. `$query` (a `const`
/// [`DbQuery`]) names its span and labels its metric: the span carries the
/// backend, statement kind, table and SQL text (placeholders, never values);
/// the duration and outcome go to the database's observer.
/// `$pool` names the lent connection in `$fut`; `$pool => execute
/// $statement` runs a statement for the number of rows it affected.
macro_rules! query {
    ($db:expr, $query:expr, $sql:expr, $pool:ident => execute $statement:expr) => {
        $crate::backend::query!($db, $query, $sql, $pool => async {
            $statement.execute($pool).await.map(|done| done.rows_affected())
        })
    };
    ($db:expr, $query:expr, $sql:expr, $pool:ident => $fut:expr) => {{
        let span = tracing::info_span!(
            $query.name,
            db.system = $db.system(),
            db.operation.name = $query.operation.verb(),
            db.collection.name = $query.table,
            db.query.text = AsRef::<str>::as_ref($sql),
            otel.kind = "client",
        );
        tracing::Instrument::instrument(
            $db.observed(&$query, async { $crate::backend::with_conn!($db, $pool => $fut.await) }),
            span,
        )
        .await
    }};
}
pub(crate) use query;

impl Database {
    /// Creates the pool. PostgreSQL connects lazily (readiness reports a
    /// database that is down); SQLite creates its file and folder.
    /// `observer` hears of every query and can read the pool's occupancy.
    pub async fn connect(
        settings: &DatabaseSettings,
        observer: Arc<dyn DbObserver>,
    ) -> Result<Self, StorageError> {
        let url = settings.url.expose_secret();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?.application_name("userhub");
            let pool = PgPoolOptions::new()
                .max_connections(settings.pool_size)
                .min_connections(0)
                .acquire_timeout(settings.acquire_timeout)
                .test_before_acquire(false)
                .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
                .connect_lazy_with(options);
            Backend::Postgres(Arc::new(Lender::new(
                pool,
                settings.pool_size,
                settings.acquire_timeout,
            )))
        } else {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(std::time::Duration::from_secs(5));
            private_database_file(Path::new(options.get_filename()))
                .map_err(|e| StorageError::Database(sqlx::Error::Io(e)))?;
            let pool = SqlitePoolOptions::new()
                .max_connections(settings.pool_size)
                .acquire_timeout(settings.acquire_timeout)
                .test_before_acquire(false)
                .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
                .connect_with(options)
                .await?;
            Backend::Sqlite(Arc::new(Lender::new(
                pool,
                settings.pool_size,
                settings.acquire_timeout,
            )))
        };
        let in_flight = Arc::new(AtomicU64::new(0));
        // The source holds the pool and the counter, not the observer: no
        // ownership cycle between the observer and the database.
        let (pool, counter, max) = (backend.clone(), in_flight.clone(), settings.pool_size);
        observer.watch_pool(Arc::new(move || pool.stats(&counter, max)));
        Ok(Self {
            backend,
            observer,
            in_flight,
            pool_size: settings.pool_size,
        })
    }

    /// `postgresql` or `sqlite`, as OpenTelemetry's `db.system` names them.
    pub fn system(&self) -> &'static str {
        match self.backend {
            Backend::Postgres(_) => "postgresql",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// Connection pool occupancy.
    pub fn pool_stats(&self) -> PoolStats {
        self.backend.stats(&self.in_flight, self.pool_size)
    }

    /// Whether a connection can be had and answers.
    pub async fn ping(&self) -> bool {
        let pinged: Result<_, sqlx::Error> = async {
            with_conn!(self, conn => sqlx::query("SELECT 1").execute(conn).await.map(drop))
        }
        .await;
        pinged.is_ok()
    }

    /// Closes the pool, waiting for checked-out connections to return.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Postgres(lender) => lender.close().await,
            Backend::Sqlite(lender) => lender.close().await,
        }
    }

    /// Awaits one query (see [`query!`]), counting it in flight meanwhile,
    /// and reports its duration and outcome to the observer.
    pub(crate) async fn observed<T>(
        &self,
        query: &DbQuery,
        fut: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StorageError> {
        let started = Instant::now();
        let result = {
            let _in_flight = InFlight::enter(&self.in_flight);
            fut.await.map_err(StorageError::from)
        };
        let outcome = match &result {
            Ok(_) => DbOutcome::Ok,
            Err(e) => e.outcome(),
        };
        self.observer
            .query_finished(query, started.elapsed(), outcome);
        result
    }
}

/// `before_acquire` of sqlx's pool: ping a connection only when it has been
/// idle for [`PING_IDLE_AFTER`] (sqlx's default, `test_before_acquire`,
/// pings every time: a round trip per query); a failed ping discards it and
/// the pool hands out another. Sqlx pings every connection returned to it,
/// so one idle for less was alive a moment ago.
async fn ping_if_idle<C: sqlx::Connection>(
    conn: &mut C,
    meta: PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    if meta.idle_for >= PING_IDLE_AFTER {
        conn.ping().await?;
    }
    Ok(true)
}

impl Backend {
    /// Sqlx counts connections, not the tasks waiting for one: those are
    /// the queries in flight beyond the connections in use.
    fn stats(&self, in_flight: &AtomicU64, max: u32) -> PoolStats {
        // Connections idle in the lender are checked out as far as sqlx knows.
        let (size, idle) = match self {
            Self::Postgres(l) => (l.pool().size(), l.pool().num_idle() + l.idle_here()),
            Self::Sqlite(l) => (l.pool().size(), l.pool().num_idle() + l.idle_here()),
        };
        let in_use = u64::from(size).saturating_sub(idle as u64);
        PoolStats {
            in_use,
            idle: idle as u64,
            max: u64::from(max),
            waiters: in_flight.load(Ordering::Relaxed).saturating_sub(in_use),
        }
    }
}

/// Counts one query in flight until dropped (also when its future is).
struct InFlight<'a>(&'a AtomicU64);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// SQLite holds password hashes and emails: a directory it creates is
/// `0700`, and the database file is created (or tightened to) `0600` before
/// SQLite opens it. SQLite gives its `-wal`, `-shm` and journal files the
/// database file's mode; existing ones are tightened too. A directory that
/// already exists is left as it is (it may be shared, like `/tmp`).
fn private_database_file(file: &Path) -> std::io::Result<()> {
    if file.as_os_str().is_empty() || file.to_str() == Some(":memory:") {
        return Ok(());
    }
    if let Some(parent) = file.parent()
        && !parent.as_os_str().is_empty()
    {
        create_private_dir(parent)?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(file)?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = file.as_os_str().to_owned();
            path.push(suffix);
            match std::fs::metadata(&path) {
                Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// `create_dir_all`, with the directories it creates `0700`.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn database_files_are_private() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("data/nested/userhub.db");
        private_database_file(&file).unwrap();
        assert_eq!(mode(&root.path().join("data")), 0o700);
        assert_eq!(mode(&root.path().join("data/nested")), 0o700);
        assert_eq!(mode(&file), 0o600);

        let wal = root.path().join("data/nested/userhub.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_database_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&wal), 0o600);
    }
}
