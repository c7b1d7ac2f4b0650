//! The item repository.

use crate::observe::{DbOperation::*, DbQuery};
use userhub_core::{Item, ItemId, ItemPatch, NewItem, Page, PageRequest, UserId};
use uuid::Uuid;

use crate::backend::query;
use std::sync::LazyLock;

use crate::rows::{Counted, ITEM_COLUMNS, ItemRow, MAX_SKIP, now, page_sql};
use crate::{Database, StorageError};

/// The exact item count of `owner` (all items for `None`), as kept by the
/// triggers of migration 4: a sum of at most 16 slot rows, whatever the
/// number of items. `param` is the placeholder holding the owner.
fn item_count_sql(owner: bool, param: &str) -> String {
    match owner {
        true => format!(
            "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM userhub_item_count WHERE owner_id = {param}"
        ),
        false => format!(
            "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM userhub_row_count WHERE name = 'item' AND {param} IS NULL"
        ),
    }
}

const GET: DbQuery = DbQuery::new("db.item.get", Select, "item");
const LIST: DbQuery = DbQuery::new("db.item.list", Select, "item");
const COUNT: DbQuery = DbQuery::new("db.item.count", Select, "item");
const INSERT: DbQuery = DbQuery::new("db.item.insert", Insert, "item");
const UPDATE: DbQuery = DbQuery::new("db.item.update", Update, "item");
const DELETE: DbQuery = DbQuery::new("db.item.delete", Delete, "item");

impl Database {
    pub async fn item_by_id(&self, id: ItemId) -> Result<Option<Item>, StorageError> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM item WHERE id = $1");
        let row = query!(self, GET, &sql, pool =>
            sqlx::query_as::<_, ItemRow>(&sql).bind(id.as_uuid()).fetch_optional(pool))?;
        Ok(row.map(Item::from))
    }

    /// Newest first; all items when `owner` is `None`. One query gives the
    /// page and the exact total (from the counts the triggers of migration 4
    /// keep); only a page past the end needs a second query for the count.
    /// The page's ids come from an index-only scan from the nearer end of the
    /// list ([`page_sql`]), so neither the table size nor the owner's item
    /// count enters the cost of a first page, and a deep page walks at most
    /// half the owner's entries.
    pub async fn list_items(
        &self,
        owner: Option<UserId>,
        page: PageRequest,
    ) -> Result<Page<Item>, StorageError> {
        static OWNER_PAGE: LazyLock<String> = LazyLock::new(|| {
            page_sql(
                ITEM_COLUMNS,
                "item",
                "WHERE owner_id = $3",
                &item_count_sql(true, "$3"),
            )
        });
        static ALL_PAGE: LazyLock<String> = LazyLock::new(|| {
            page_sql(
                ITEM_COLUMNS,
                "item",
                "WHERE $3 IS NULL",
                &item_count_sql(false, "$3"),
            )
        });
        let sql: &str = if owner.is_some() {
            &OWNER_PAGE
        } else {
            &ALL_PAGE
        };
        let skip = page.skip.min(MAX_SKIP);
        let rows = query!(self, LIST, sql, pool =>
            sqlx::query_as::<_, Counted<ItemRow>>(sql).bind(page.limit).bind(skip).bind(owner.map(UserId::as_uuid)).fetch_all(pool))?;
        let count = match rows.first() {
            Some(first) => first.total,
            None => self.count_items(owner).await?,
        };
        Ok(Page {
            data: rows.into_iter().map(|r| Item::from(r.row)).collect(),
            count,
        })
    }

    async fn count_items(&self, owner: Option<UserId>) -> Result<i64, StorageError> {
        let sql = item_count_sql(owner.is_some(), "$1");
        query!(self, COUNT, &sql, pool => sqlx::query_scalar(&sql).bind(owner.map(UserId::as_uuid)).fetch_one(pool))
    }

    pub async fn insert_item(&self, new: NewItem) -> Result<Item, StorageError> {
        let sql = format!(
            "INSERT INTO item (id, title, description, owner_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {ITEM_COLUMNS}"
        );
        let title = new.title.into_string();
        let description = new.description.map(|d| d.into_string());
        let row = query!(self, INSERT, &sql, pool =>
            sqlx::query_as::<_, ItemRow>(&sql)
                .bind(Uuid::new_v4()).bind(&title).bind(&description).bind(new.owner_id.as_uuid()).bind(now())
                .fetch_one(pool))?;
        Ok(row.into())
    }

    pub async fn update_item(
        &self,
        id: ItemId,
        patch: ItemPatch,
    ) -> Result<Option<Item>, StorageError> {
        let sql = format!(
            "UPDATE item SET title = COALESCE($2, title),
                             description = CASE WHEN $3 THEN $4 ELSE description END
             WHERE id = $1 RETURNING {ITEM_COLUMNS}"
        );
        let title = patch.title.map(|t| t.into_string());
        let set_description = patch.description.is_some();
        let description = patch.description.flatten().map(|d| d.into_string());
        let row = query!(self, UPDATE, &sql, pool =>
            sqlx::query_as::<_, ItemRow>(&sql)
                .bind(id.as_uuid()).bind(&title).bind(set_description).bind(&description)
                .fetch_optional(pool))?;
        Ok(row.map(Item::from))
    }

    pub async fn delete_item(&self, id: ItemId) -> Result<bool, StorageError> {
        let sql = "DELETE FROM item WHERE id = $1";
        let done = query!(self, DELETE, sql, pool => execute sqlx::query(sql).bind(id.as_uuid()))?;
        Ok(done > 0)
    }

    /// How many items `owner` has (reported when a user is deleted).
    pub async fn count_items_of(&self, owner: UserId) -> Result<i64, StorageError> {
        let sql = item_count_sql(true, "$1");
        query!(self, COUNT, &sql, pool =>
            sqlx::query_scalar(&sql).bind(owner.as_uuid()).fetch_one(pool))
    }
}
