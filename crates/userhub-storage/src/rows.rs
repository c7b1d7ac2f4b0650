//! Row shapes shared by both backends and their conversion to domain records.

use chrono::{DateTime, Utc};
use userhub_core::{Description, Email, FullName, Item, ItemId, Title, User, UserId};
use uuid::Uuid;

pub(crate) const USER_COLUMNS: &str = "id, email, is_active, is_superuser, full_name, hashed_password, created_at, password_changed_at_micros, email_changed_at_micros, token_exempt";
/// The order of every list: newest first, ties broken by id, rows without a
/// creation time (adopted reference data) last. Migration 4's indexes hold
/// exactly this order.
pub(crate) const LIST_ORDER: &str = "created_at DESC NULLS LAST, id DESC";
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
