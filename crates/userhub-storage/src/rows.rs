//! Row shapes shared by both backends and their conversion to domain records.

use chrono::{DateTime, Utc};
use userhub_core::{Description, Email, FullName, Item, ItemId, Title, User, UserId};
use uuid::Uuid;

pub(crate) const USER_COLUMNS: &str = "id, email, is_active, is_superuser, full_name, hashed_password, created_at, password_changed_at_micros, email_changed_at_micros, token_exempt";
/// The order of every list: newest first, ties broken by id, rows without a
/// creation time (adopted reference data) last. Migration 4's indexes hold
/// exactly this order.
pub(crate) const LIST_ORDER: &str = "created_at DESC NULLS LAST, id DESC";
/// [`LIST_ORDER`] backwards: the same index walked from its other end.
pub(crate) const REVERSE_ORDER: &str = "created_at ASC NULLS FIRST, id ASC";

/// The page query of a list: the `columns` of the rows of `table` matching
/// `filter` at `OFFSET $2 LIMIT $1` in [`LIST_ORDER`], each with the exact
/// `total` that `count` (a one-value query) gives, all in one statement (one
/// snapshot: the total and the page agree).
///
/// The page's ids come from an index-only scan that walks from whichever end
/// of the list is nearer: from the front (`OFFSET skip`) for the first half,
/// from the back (`OFFSET total - skip - limit` in [`REVERSE_ORDER`]) for the
/// second, so a deep page costs `min(skip, total - skip)` index entries, not
/// `skip`. The branch not taken has `LIMIT 0` and reads nothing. `skip` must
/// not exceed [`MAX_SKIP`] (the arithmetic stays far from overflow).
pub(crate) fn page_sql(columns: &str, table: &str, filter: &str, count: &str) -> String {
    // `front`: the page is in the first half (walk skip + limit entries from the front).
    let front = "c.total - $2 - $2 >= $1";
    format!(
        "WITH c (total) AS ({count})
         SELECT {columns}, (SELECT total FROM c) AS total FROM {table} WHERE id IN (
             SELECT id FROM (SELECT id FROM {table} {filter} ORDER BY {LIST_ORDER}
                 LIMIT (SELECT CASE WHEN {front} THEN $1 ELSE 0 END FROM c) OFFSET $2) AS front_page
             UNION ALL
             SELECT id FROM (SELECT id FROM {table} {filter} ORDER BY {REVERSE_ORDER}
                 LIMIT (SELECT CASE WHEN {front} OR c.total <= $2 THEN 0
                                    WHEN c.total - $2 < $1 THEN c.total - $2 ELSE $1 END FROM c)
                 OFFSET (SELECT CASE WHEN c.total - $2 - $1 > 0 THEN c.total - $2 - $1 ELSE 0 END FROM c)) AS back_page)
         ORDER BY {LIST_ORDER}"
    )
}

/// The largest `skip` a page query is given: any larger skip is past the end
/// of any list, and is clamped to this.
pub(crate) const MAX_SKIP: i64 = 1 << 53;
pub(crate) const ITEM_COLUMNS: &str = "id, title, description, owner_id, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    is_active: bool,
    is_superuser: bool,
    full_name: Option<String>,
    hashed_password: String,
    created_at: Option<DateTime<Utc>>,
    password_changed_at_micros: Option<i64>,
    email_changed_at_micros: Option<i64>,
    token_exempt: Option<String>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId::from(r.id),
            email: Email::from_stored(r.email),
            is_active: r.is_active,
            is_superuser: r.is_superuser,
            full_name: r.full_name.map(FullName::from_stored),
            hashed_password: r.hashed_password,
            created_at: r.created_at,
            password_changed_at_micros: r.password_changed_at_micros,
            email_changed_at_micros: r.email_changed_at_micros,
            token_exempt: r.token_exempt,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ItemRow {
    id: Uuid,
    title: String,
    description: Option<String>,
    owner_id: Uuid,
    created_at: Option<DateTime<Utc>>,
}

impl From<ItemRow> for Item {
    fn from(r: ItemRow) -> Self {
        Item {
            id: ItemId::from(r.id),
            title: Title::from_stored(r.title),
            description: r.description.map(Description::from_stored),
            owner_id: UserId::from(r.owner_id),
            created_at: r.created_at,
        }
    }
}

/// A row of a page query: the record plus the exact number of rows matching
/// before LIMIT/OFFSET, read in the same query (saves a second round trip).
#[derive(sqlx::FromRow)]
pub(crate) struct Counted<T> {
    #[sqlx(flatten)]
    pub(crate) row: T,
    pub(crate) total: i64,
}

/// Now, at the microsecond precision PostgreSQL stores, so both backends
/// return the same value that was written.
pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Now as Unix microseconds, the unit of the `*_micros` columns.
pub(crate) fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}
