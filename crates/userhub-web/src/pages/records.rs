//! The records an area's pages show (items, users): one page of the list
//! ([`Listing`]) and the one record a path names ([`find`]).

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use super::form::show;
use super::{PageQuery, WebError, parse_id};
use crate::api::ApiError;
use crate::views::Pager;

/// The page of a list that `?page=N` asks for, `size` records a page.
#[derive(Debug)]
pub struct Listing {
    base: &'static str,
    page: u64,
    size: u32,
}

impl Listing {
    /// The list at path `base`, as `query` pages it.
    pub fn new(base: &'static str, query: &PageQuery, size: u32) -> Self {
        Self {
            base,
            page: query.page(),
            size,
        }
    }

    /// How many records come before this page.
    pub fn skip(&self) -> u64 {
        (self.page - 1) * u64::from(self.size)
    }

    /// How many records a page holds.
    pub fn limit(&self) -> u32 {
        self.size
    }

    /// The page `page` builds around its previous/next links, the list
    /// holding `count` records and this page none if `empty`; an empty page
    /// past the end redirects to the last page instead.
    pub fn show<P: Template>(
        &self,
        empty: bool,
        count: i64,
        page: impl FnOnce(Pager) -> P,
    ) -> Result<Response, WebError> {
        let pager = Pager::new(self.base, self.page, count, self.size);
        if empty && self.page > pager.pages {
            let last = format!("{}?page={}", self.base, pager.pages);
            return Ok(Redirect::to(&last).into_response());
        }
        show(&page(pager))
    }
}

/// The record the path's `id` names, as `fetch` gets it; an id that is no
/// UUID is the 404 page.
pub async fn find<T>(
    id: &str,
    fetch: impl AsyncFnOnce(&Uuid) -> Result<T, ApiError>,
) -> Result<(Uuid, T), WebError> {
    let id = parse_id(id)?;
    let record = fetch(&id).await?;
    Ok((id, record))
}
