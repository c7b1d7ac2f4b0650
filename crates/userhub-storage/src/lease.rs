//! Connections lent to one query at a time, kept warm between queries.
//!
//! Sqlx's pool pings a connection (a round trip, or a hop to SQLite's
//! worker thread) every time one is returned to it, and by default again
//! before handing it out: two extra round trips per query. [`Lender`] keeps
//! the connections it has taken from sqlx's pool in its own idle list and
//! lends them out again directly. A connection goes back to sqlx (and is
//! checked there) only when its query failed with a connection-level error
//! or was cancelled midway; one idle for [`PING_IDLE_AFTER`] is pinged before
//! it is lent. Waiters queue fairly on a semaphore of `pool_size` permits,
//! so a borrower always finds a connection either idle here or free in
//! sqlx's pool (which is as large), and the acquire timeout covers the
//! whole wait.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Pool};
use tokio::sync::{Semaphore, SemaphorePermit};

/// A connection idle for at least this long is pinged before it is lent: one
/// in steady use proved itself alive a moment ago.
pub const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// Lends the connections of one sqlx pool, one query at a time.
#[derive(Debug)]
pub(crate) struct Lender<DB: Database> {
    pool: Pool<DB>,
    permits: Semaphore,
    idle: Mutex<Vec<(PoolConnection<DB>, Instant)>>,
    acquire_timeout: Duration,
}

/// One borrowed connection; dropped without [`Lease::give_back`] (a query
/// cancelled midway), the connection returns to sqlx's pool, which checks it.
pub(crate) struct Lease<'a, DB: Database> {
    lender: &'a Lender<DB>,
    conn: Option<PoolConnection<DB>>,
    _permit: SemaphorePermit<'a>,
}

impl<DB: Database> Lender<DB> {
    pub(crate) fn new(pool: Pool<DB>, size: u32, acquire_timeout: Duration) -> Self {
        Self {
            pool,
            permits: Semaphore::new(size as usize),
            idle: Mutex::new(Vec::new()),
            acquire_timeout,
        }
    }

    pub(crate) fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// Connections idle here (sqlx counts them as in use).
    pub(crate) fn idle_here(&self) -> usize {
        self.idle.lock().map_or(0, |idle| idle.len())
    }

    /// A connection for one query: an idle one, else one from sqlx's pool;
    /// `PoolTimedOut` after the acquire timeout, `PoolClosed` once closed.
    pub(crate) async fn lease(&self) -> Result<Lease<'_, DB>, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let permit = match tokio::time::timeout_at(deadline, self.permits.acquire()).await {
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
            Ok(Ok(permit)) => permit,
        };
        loop {
            let cached = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let conn = match cached {
                Some((mut conn, since)) => {
                    if since.elapsed() >= PING_IDLE_AFTER && conn.ping().await.is_err() {
                        // Broken: sqlx's pool closes it on its return.
                        continue;
                    }
                    conn
                }
                None => match tokio::time::timeout_at(deadline, self.pool.acquire()).await {
                    Err(_) => return Err(sqlx::Error::PoolTimedOut),
                    Ok(conn) => conn?,
                },
            };
            return Ok(Lease {
                lender: self,
                conn: Some(conn),
                _permit: permit,
            });
        }
    }

    /// Refuses new leases and hands the idle connections back to sqlx's
    /// pool, then closes it (waiting for the connections lent out).
    pub(crate) async fn close(&self) {
        self.permits.close();
        let idle = self.idle.lock().map(|mut idle| std::mem::take(&mut *idle));
        drop(idle);
        self.pool.close().await;
    }
}

impl<DB: Database> Lease<'_, DB> {
    pub(crate) fn conn(&mut self) -> &mut DB::Connection {
        self.conn
            .as_deref_mut()
            .expect("a lease holds its connection until given back")
    }

    /// Ends the lease after the query finished: a `reusable` connection
    /// stays warm here, another goes back to sqlx's pool, which checks it.
    pub(crate) fn give_back(mut self, reusable: bool) {
        let Some(conn) = self.conn.take() else { return };
        if reusable
            && !self.lender.permits.is_closed()
            && let Ok(mut idle) = self.lender.idle.lock()
        {
            idle.push((conn, Instant::now()));
            return;
        }
        drop(conn);
    }
}

impl<DB: Database> Drop for Lease<'_, DB> {
    fn drop(&mut self) {
        // Not given back (cancelled midway): sqlx's pool checks it.
        drop(self.conn.take());
    }
}

/// Whether the connection of a finished query can serve the next one.
pub(crate) fn reusable<T>(result: &Result<T, sqlx::Error>) -> bool {
    match result {
        Ok(_) => true,
        Err(e) => !connection_failed(e),
    }
}

/// Errors after which the connection cannot be trusted: I/O, TLS, protocol,
/// a crashed SQLite worker. A database error (constraint, syntax, a row
/// that does not decode) leaves the connection as good as before.
fn connection_failed(error: &sqlx::Error) -> bool {
    !matches!(
        error,
        sqlx::Error::Database(_)
            | sqlx::Error::RowNotFound
            | sqlx::Error::TypeNotFound { .. }
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Encode(_)
            | sqlx::Error::Decode(_)
    )
}
