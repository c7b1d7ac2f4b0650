//! Authentication state every replica must share: failed-login accounting
//! per account and access tokens revoked one by one (logout). Both live in
//! the database so that N replicas enforce one limit, not N.

use crate::observe::{DbOperation::*, DbQuery};
use userhub_core::{User, UserId};

use crate::backend::query;
use crate::rows::{USER_COLUMNS, UserRow, now_micros};
use crate::{Database, StorageError};

const RESERVE_ATTEMPT: DbQuery =
    DbQuery::new("db.login_attempt.reserve", Insert, "userhub_login_attempt");
const LOCKED_WINDOW: DbQuery =
    DbQuery::new("db.login_attempt.get", Select, "userhub_login_attempt");
const CLEAR_ATTEMPTS: DbQuery =
    DbQuery::new("db.login_attempt.clear", Delete, "userhub_login_attempt");
const RELEASE_ATTEMPT: DbQuery =
    DbQuery::new("db.login_attempt.release", Update, "userhub_login_attempt");
const PRUNE_REVOKED: DbQuery =
    DbQuery::new("db.revoked_token.prune", Delete, "userhub_revoked_token");
const REVOKE: DbQuery = DbQuery::new("db.revoked_token.insert", Insert, "userhub_revoked_token");
const IS_REVOKED: DbQuery = DbQuery::new("db.revoked_token.get", Select, "userhub_revoked_token");
const USER_FOR_TOKEN: DbQuery = DbQuery::new("db.user.get_for_token", Select, "user");

#[derive(sqlx::FromRow)]
struct Revocable {
    #[sqlx(flatten)]
    row: UserRow,
    revoked: bool,
}

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
        let slot: Option<(i32, i64)> = query!(self, RESERVE_ATTEMPT, sql, pool =>
            sqlx::query_as(sql).bind(user.as_uuid()).bind(now).bind(cutoff).bind(max).fetch_optional(pool))?;
        if let Some((slot, window_start_micros)) = slot {
            return Ok(LoginReservation::Reserved {
                slot: u32::try_from(slot).unwrap_or(0),
                window_start_micros,
            });
        }
        let select = "SELECT window_start_micros FROM userhub_login_attempt WHERE user_id = $1";
        let start: Option<i64> = query!(self, LOCKED_WINDOW, select, pool =>
            sqlx::query_scalar(select).bind(user.as_uuid()).fetch_optional(pool))?;
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
        let cleared = query!(self, CLEAR_ATTEMPTS, clear, pool =>
            execute sqlx::query(clear).bind(user.as_uuid()).bind(window_start_micros).bind(slot).bind(max))?;
        if cleared > 0 {
            return Ok(true);
        }
        let give_back = "UPDATE userhub_login_attempt SET failures = failures - 1
            WHERE user_id = $1 AND window_start_micros = $2 AND failures < $3 AND failures > 0";
        query!(self, RELEASE_ATTEMPT, give_back, pool =>
            execute sqlx::query(give_back).bind(user.as_uuid()).bind(window_start_micros).bind(max))?;
        Ok(false)
    }

    /// Revokes one access token (by fingerprint) until it expires; expired
    /// revocations are pruned on the way.
    pub async fn revoke_token(
        &self,
        fingerprint: &str,
        user: UserId,
        expires_at_micros: i64,
    ) -> Result<(), StorageError> {
        let prune = "DELETE FROM userhub_revoked_token WHERE expires_at_micros < $1";
        query!(self, PRUNE_REVOKED, prune, pool => execute sqlx::query(prune).bind(now_micros()))?;
        let sql = "INSERT INTO userhub_revoked_token (fingerprint, user_id, expires_at_micros) VALUES ($1, $2, $3)
            ON CONFLICT (fingerprint) DO NOTHING";
        query!(self, REVOKE, sql, pool =>
            execute sqlx::query(sql).bind(fingerprint).bind(user.as_uuid()).bind(expires_at_micros))?;
        Ok(())
    }

    /// The user an access token names, and whether that token (by
    /// `fingerprint`) was revoked, in one round trip.
    pub async fn user_for_token(
        &self,
        id: UserId,
        fingerprint: &str,
    ) -> Result<Option<(User, bool)>, StorageError> {
        let sql = format!(
            r#"SELECT {USER_COLUMNS}, EXISTS (SELECT 1 FROM userhub_revoked_token WHERE fingerprint = $2) AS revoked
               FROM "user" WHERE id = $1"#
        );
        let row = query!(self, USER_FOR_TOKEN, &sql, pool =>
            sqlx::query_as::<_, Revocable>(&sql).bind(id.as_uuid()).bind(fingerprint).fetch_optional(pool))?;
        Ok(row.map(|r| (User::from(r.row), r.revoked)))
    }

    /// Whether the access token with `fingerprint` was revoked.
    pub async fn is_token_revoked(&self, fingerprint: &str) -> Result<bool, StorageError> {
        let sql = "SELECT count(*) FROM userhub_revoked_token WHERE fingerprint = $1";
        let n: i64 = query!(self, IS_REVOKED, sql, pool =>
            sqlx::query_scalar(sql).bind(fingerprint).fetch_one(pool))?;
        Ok(n > 0)
    }
}
