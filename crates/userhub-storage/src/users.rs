//! The user repository. Email lookups go through the canonical form
//! computed in Rust ([`userhub_core::canonical_email`]), stored in
//! `email_canonical` under a unique index; where an adopted database holds
//! case-only duplicates, only one of them holds the canonical form and the
//! exact-case match wins.

use crate::observe::{DbOperation::*, DbQuery};
use userhub_core::{Email, NewUser, Page, PageRequest, User, UserId, UserPatch, canonical_email};
use uuid::Uuid;

use crate::backend::query;
use std::sync::LazyLock;

use crate::rows::{Counted, MAX_SKIP, USER_COLUMNS, UserRow, now, now_micros, page_sql};
use crate::{Database, StorageError};

/// The exact user count, kept by the triggers of migration 4.
const USER_COUNT: &str =
    "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM userhub_row_count WHERE name = 'user'";

const GET: DbQuery = DbQuery::new("db.user.get", Select, "user");
const GET_BY_EMAIL: DbQuery = DbQuery::new("db.user.get_by_email", Select, "user");
const LIST: DbQuery = DbQuery::new("db.user.list", Select, "user");
const COUNT: DbQuery = DbQuery::new("db.user.count", Select, "user");
const INSERT: DbQuery = DbQuery::new("db.user.insert", Insert, "user");
const UPDATE: DbQuery = DbQuery::new("db.user.update", Update, "user");
const DELETE: DbQuery = DbQuery::new("db.user.delete", Delete, "user");
const CASE_DUPLICATES: DbQuery = DbQuery::new("db.user.case_duplicates", Select, "user");
const RESET_PASSWORD: DbQuery = DbQuery::new("db.user.reset_password", Update, "user");
const UNCANONICAL: DbQuery = DbQuery::new("db.user.uncanonical", Select, "user");
const BACKFILL_CANONICAL: DbQuery = DbQuery::new("db.user.backfill_canonical", Update, "user");

impl Database {
    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StorageError> {
        let sql = format!(r#"SELECT {USER_COLUMNS} FROM "user" WHERE id = $1"#);
        let row = query!(self, GET, &sql, pool =>
            sqlx::query_as::<_, UserRow>(&sql).bind(id.as_uuid()).fetch_optional(pool))?;
        Ok(row.map(User::from))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StorageError> {
        // No stored email holds NUL (PostgreSQL cannot even compare it).
        if email.contains('\0') {
            return Ok(None);
        }
        // Longer than any storable address: no lookup (the input may be huge).
        if email.len() > 1024 {
            return Ok(None);
        }
        let exact = email.trim();
        let canonical = canonical_email(exact);
        let sql = format!(
            r#"SELECT {USER_COLUMNS} FROM "user" WHERE email_canonical = $1 OR email = $2
               ORDER BY CASE WHEN email = $2 THEN 0 ELSE 1 END LIMIT 1"#
        );
        let row = query!(self, GET_BY_EMAIL, &sql, pool =>
            sqlx::query_as::<_, UserRow>(&sql).bind(&canonical).bind(exact).fetch_optional(pool))?;
        Ok(row.map(User::from))
    }

    pub async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StorageError> {
        static PAGE: LazyLock<String> =
            LazyLock::new(|| page_sql(USER_COLUMNS, r#""user""#, "", USER_COUNT));
        let sql: &str = &PAGE;
        let skip = page.skip.min(MAX_SKIP);
        let rows = query!(self, LIST, sql, pool =>
            sqlx::query_as::<_, Counted<UserRow>>(sql).bind(page.limit).bind(skip).fetch_all(pool))?;
        let count = match rows.first() {
            Some(first) => first.total,
            None => self.count_users().await?,
        };
        Ok(Page {
            data: rows.into_iter().map(|r| User::from(r.row)).collect(),
            count,
        })
    }

    async fn count_users(&self) -> Result<i64, StorageError> {
        query!(self, COUNT, USER_COUNT, pool => sqlx::query_scalar(USER_COUNT).fetch_one(pool))
    }

    /// Inserts a user; `Conflict` when the email is taken.
    pub async fn insert_user(&self, new: NewUser) -> Result<User, StorageError> {
        let sql = format!(
            r#"INSERT INTO "user" (id, email, is_active, is_superuser, full_name, hashed_password, created_at, email_canonical)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {USER_COLUMNS}"#
        );
        let id = Uuid::new_v4();
        let full_name = new.full_name.map(|n| n.into_string());
        let canonical = new.email.canonical();
        let email = new.email.into_string();
        let row = query!(self, INSERT, &sql, pool =>
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(id).bind(&email).bind(new.is_active).bind(new.is_superuser)
                .bind(&full_name).bind(&new.hashed_password).bind(now()).bind(&canonical)
                .fetch_one(pool))?;
        Ok(row.into())
    }

    /// Applies `patch`; `None` when the user does not exist, `Conflict` when
    /// the new email is taken.
    pub async fn update_user(
        &self,
        id: UserId,
        patch: UserPatch,
    ) -> Result<Option<User>, StorageError> {
        let set_full_name = patch.full_name.is_some();
        let full_name = patch.full_name.flatten().map(|n| n.into_string());
        let sql = format!(
            r#"UPDATE "user" SET
                 email_changed_at_micros = CASE WHEN $8 IS NOT NULL AND (email_canonical IS NULL OR email_canonical <> $8) THEN $9 ELSE email_changed_at_micros END,
                 email = COALESCE($2, email),
                 email_canonical = COALESCE($8, email_canonical),
                 is_active = COALESCE($3, is_active),
                 is_superuser = COALESCE($4, is_superuser),
                 full_name = CASE WHEN $5 THEN $6 ELSE full_name END,
                 hashed_password = COALESCE($7, hashed_password),
                 password_changed_at_micros = CASE WHEN $10 THEN $9 ELSE password_changed_at_micros END,
                 token_exempt = CASE WHEN $10 THEN $11 ELSE token_exempt END
               WHERE id = $1 RETURNING {USER_COLUMNS}"#
        );
        let canonical = patch.email.as_ref().map(Email::canonical);
        let email = patch.email.map(Email::into_string);
        let password_changed = patch.hashed_password.is_some() && patch.password_changed.is_some();
        let exempt = patch.password_changed.flatten();
        let row = query!(self, UPDATE, &sql, pool =>
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(id.as_uuid()).bind(&email).bind(patch.is_active).bind(patch.is_superuser)
                .bind(set_full_name).bind(&full_name).bind(&patch.hashed_password)
                .bind(&canonical).bind(now_micros()).bind(password_changed).bind(&exempt)
                .fetch_optional(pool))?;
        Ok(row.map(User::from))
    }

    /// Deletes a user and (by cascade) their items; false when absent.
    pub async fn delete_user(&self, id: UserId) -> Result<bool, StorageError> {
        let sql = r#"DELETE FROM "user" WHERE id = $1"#;
        let done = query!(self, DELETE, sql, pool => execute sqlx::query(sql).bind(id.as_uuid()))?;
        Ok(done > 0)
    }

    /// Emails that differ only by case (possible in adopted databases).
    pub async fn case_duplicate_emails(&self) -> Result<Vec<(String, i64)>, StorageError> {
        let sql = r#"SELECT lower(email) AS e, count(*) AS n FROM "user" GROUP BY lower(email) HAVING count(*) > 1 ORDER BY e"#;
        query!(self, CASE_DUPLICATES, sql, pool =>
            sqlx::query_as::<_, (String, i64)>(sql).fetch_all(pool))
    }
}

impl Database {
    /// Sets a new password from a password-reset token issued at
    /// `issued_at_micros`, only if neither the password nor the email changed
    /// since then (compare-and-set, so a token is used once even when two
    /// replicas race). Revokes every access token. False when the token was
    /// already used or is stale.
    pub async fn reset_password(
        &self,
        id: UserId,
        hashed_password: &str,
        issued_at_micros: i64,
    ) -> Result<bool, StorageError> {
        let sql = r#"UPDATE "user" SET hashed_password = $2, password_changed_at_micros = $3, token_exempt = NULL
               WHERE id = $1
                 AND (password_changed_at_micros IS NULL OR password_changed_at_micros < $4)
                 AND (email_changed_at_micros IS NULL OR email_changed_at_micros < $4)"#;
        let now = now_micros().max(issued_at_micros + 1);
        let done = query!(self, RESET_PASSWORD, sql, pool =>
            execute sqlx::query(sql).bind(id.as_uuid()).bind(hashed_password).bind(now).bind(issued_at_micros))?;
        Ok(done > 0)
    }

    /// Fills `email_canonical` for rows written before it existed (adopted
    /// databases, older Userhub). Where several rows share a canonical form
    /// (case-only duplicates in an adopted database), the one already in
    /// canonical form, else the oldest, gets it; the others stay reachable
    /// by their exact address only.
    pub async fn backfill_canonical_emails(&self) -> Result<u64, StorageError> {
        let select = r#"SELECT id, email FROM "user" WHERE email_canonical IS NULL ORDER BY created_at NULLS LAST, id"#;
        let rows: Vec<(Uuid, String)> = query!(self, UNCANONICAL, select, pool =>
            sqlx::query_as(select).fetch_all(pool))?;
        let mut rows: Vec<(Uuid, String, String)> = rows
            .into_iter()
            .map(|(id, email)| {
                let canonical = canonical_email(&email);
                (id, email, canonical)
            })
            .collect();
        // Rows already in canonical form first: they keep the plain lookup.
        rows.sort_by_key(|(_, email, canonical)| email != canonical);
        let update = r#"UPDATE "user" SET email_canonical = $1 WHERE id = $2
               AND NOT EXISTS (SELECT 1 FROM "user" AS other WHERE other.email_canonical = $1)"#;
        let mut filled = 0;
        for (id, _, canonical) in rows {
            filled += query!(self, BACKFILL_CANONICAL, update, pool =>
                execute sqlx::query(update).bind(&canonical).bind(id))?;
        }
        Ok(filled)
    }
}
