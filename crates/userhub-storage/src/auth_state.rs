//! Authentication state every replica must share: failed-login accounting
//! per account and access tokens revoked one by one (logout). Both live in
//! the database so that N replicas enforce one limit, not N.

use tracing::field::Empty;
use tracing::instrument;
use userhub_core::{User, UserId};

use crate::backend::with_pool;
use crate::rows::{USER_COLUMNS, UserRow, now_micros};

#[derive(sqlx::FromRow)]
struct Revocable {
    #[sqlx(flatten)]
    row: UserRow,
    revoked: bool,
}
use crate::{Database, StorageError};

/// The outcome of reserving a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginReservation {
    /// The attempt may proceed; it is the `slot`-th of the window that
    /// started at `window_start_micros`.
    Reserved { slot: u32, window_start_micros: i64 },
    /// The account is locked for this many more microseconds.
    Locked { retry_after_micros: i64 },
}

impl Database {
    /// Counts a login attempt for `user` before its password is checked,
    /// atomically: at most `max_attempts` attempts per `window_micros` get a
    /// slot, however many arrive at once and on however many replicas.
    #[instrument(name = "db.login_attempt.reserve", skip_all, fields(db.system = self.system(), db.operation.name = "INSERT", db.collection.name = "userhub_login_attempt", db.query.text = Empty, otel.kind = "client"))]
    pub async fn reserve_login_attempt(
        &self,
        user: UserId,
        max_attempts: u32,
        window_micros: i64,
    ) -> Result<LoginReservation, StorageError> {
        let sql = "INSERT INTO userhub_login_attempt (user_id, failures, window_start_micros) VALUES ($1, 1, $2)
            ON CONFLICT (user_id) DO UPDATE SET
              failures = CASE WHEN userhub_login_attempt.window_start_micros <= $3 THEN 1 ELSE userhub_login_attempt.failures + 1 END,
              window_start_micros = CASE WHEN userhub_login_attempt.window_start_micros <= $3 THEN $2 ELSE userhub_login_attempt.window_start_micros END
            WHERE userhub_login_attempt.failures < $4 OR userhub_login_attempt.window_start_micros <= $3
            RETURNING failures, window_start_micros";
        let now = now_micros();
        let cutoff = now - window_micros;
        let max = i32::try_from(max_attempts).unwrap_or(i32::MAX);
        let slot: Option<(i32, i64)> = with_pool!(self, pool => self.timed("insert", "userhub_login_attempt", sql,
            sqlx::query_as(sql).bind(user).bind(now).bind(cutoff).bind(max).fetch_optional(pool)).await)?;
        if let Some((slot, window_start_micros)) = slot {
            return Ok(LoginReservation::Reserved {
                slot: u32::try_from(slot).unwrap_or(0),
                window_start_micros,
            });
        }
        let select = "SELECT window_start_micros FROM userhub_login_attempt WHERE user_id = $1";
        let start: Option<i64> = with_pool!(self, pool => self.timed("select", "userhub_login_attempt", select,
            sqlx::query_scalar(select).bind(user).fetch_optional(pool)).await)?;
        let left = start.map_or(0, |s| s + window_micros - now);
        Ok(LoginReservation::Locked {
            retry_after_micros: left.max(1),
        })
    }

    /// After a successful login holding `slot` of the window started at
    /// `window_start_micros`: when no attempt was reserved since and the
    /// limit was not reached, the count is cleared (a success forgives
    /// earlier failures); otherwise, below the limit, only this attempt's
    /// own slot is given back (so overlapping good logins never add up); at
    /// the limit nothing changes (the right password inside a burst of wrong
    /// ones unlocks nothing). Returns whether the count was cleared.
    #[instrument(name = "db.login_attempt.clear", skip_all, fields(db.system = self.system(), db.operation.name = "DELETE", db.collection.name = "userhub_login_attempt", db.query.text = Empty, otel.kind = "client"))]
    pub async fn release_login_attempt(
        &self,
        user: UserId,
        slot: u32,
        window_start_micros: i64,
        max_attempts: u32,
    ) -> Result<bool, StorageError> {
        let max = i32::try_from(max_attempts).unwrap_or(i32::MAX);
        let slot = i32::try_from(slot).unwrap_or(i32::MAX);
        let clear = "DELETE FROM userhub_login_attempt
            WHERE user_id = $1 AND window_start_micros = $2 AND failures = $3 AND failures < $4";
        let cleared = with_pool!(self, pool => self.timed("delete", "userhub_login_attempt", clear,
            sqlx::query(clear).bind(user).bind(window_start_micros).bind(slot).bind(max)
                .execute(pool)).await.map(|r| r.rows_affected()))?;
        if cleared > 0 {
            return Ok(true);
        }
        let give_back = "UPDATE userhub_login_attempt SET failures = failures - 1
            WHERE user_id = $1 AND window_start_micros = $2 AND failures < $3 AND failures > 0";
        with_pool!(self, pool => self.timed("update", "userhub_login_attempt", give_back,
            sqlx::query(give_back).bind(user).bind(window_start_micros).bind(max)
                .execute(pool)).await.map(|r| r.rows_affected()))?;
        Ok(false)
    }

    /// Revokes one access token (by fingerprint) until it expires; expired
    /// revocations are pruned on the way.
    #[instrument(name = "db.revoked_token.insert", skip_all, fields(db.system = self.system(), db.operation.name = "INSERT", db.collection.name = "userhub_revoked_token", db.query.text = Empty, otel.kind = "client"))]
    pub async fn revoke_token(
        &self,
        fingerprint: &str,
        user: UserId,
        expires_at_micros: i64,
    ) -> Result<(), StorageError> {
        let prune = "DELETE FROM userhub_revoked_token WHERE expires_at_micros < $1";
        with_pool!(self, pool => self.timed("delete", "userhub_revoked_token", prune,
            sqlx::query(prune).bind(now_micros()).execute(pool)).await.map(|r| r.rows_affected()))?;
        let sql = "INSERT INTO userhub_revoked_token (fingerprint, user_id, expires_at_micros) VALUES ($1, $2, $3)
            ON CONFLICT (fingerprint) DO NOTHING";
        with_pool!(self, pool => self.timed("insert", "userhub_revoked_token", sql,
            sqlx::query(sql).bind(fingerprint).bind(user).bind(expires_at_micros).execute(pool)).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The user an access token names, and whether that token (by
    /// `fingerprint`) was revoked, in one round trip.
    #[instrument(name = "db.user.get_for_token", skip_all, fields(db.system = self.system(), db.operation.name = "SELECT", db.collection.name = "user", db.query.text = Empty, otel.kind = "client"))]
    pub async fn user_for_token(
        &self,
        id: UserId,
        fingerprint: &str,
    ) -> Result<Option<(User, bool)>, StorageError> {
        let sql = format!(
            r#"SELECT {USER_COLUMNS}, EXISTS (SELECT 1 FROM userhub_revoked_token WHERE fingerprint = $2) AS revoked
               FROM "user" WHERE id = $1"#
        );
        let row = with_pool!(self, pool => self.timed("select", "user", &sql,
            sqlx::query_as::<_, Revocable>(&sql).bind(id).bind(fingerprint).fetch_optional(pool)).await)?;
        Ok(row.map(|r| (User::from(r.row), r.revoked)))
    }

    /// Whether the access token with `fingerprint` was revoked.
    #[instrument(name = "db.revoked_token.get", skip_all, fields(db.system = self.system(), db.operation.name = "SELECT", db.collection.name = "userhub_revoked_token", db.query.text = Empty, otel.kind = "client"))]
    pub async fn is_token_revoked(&self, fingerprint: &str) -> Result<bool, StorageError> {
        let sql = "SELECT count(*) FROM userhub_revoked_token WHERE fingerprint = $1";
        let n: i64 = with_pool!(self, pool => self.timed("select", "userhub_revoked_token", sql,
            sqlx::query_scalar(sql).bind(fingerprint).fetch_one(pool)).await)?;
        Ok(n > 0)
    }
}
