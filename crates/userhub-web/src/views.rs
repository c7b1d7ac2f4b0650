//! Compile-time checked templates (askama) and the data each page shows.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};
use uuid::Uuid;

use crate::api::{ItemPublic, UserPublic};
use crate::assets::{self, AssetUrls};
use crate::cookie::{Flash, THEME_COOKIE, cookie_value};

/// The colour theme: follow the system, or forced light or dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "system" => Some(Self::System),
            "light" => Some(Self::Light),
            "dark" => Some(Self::Dark),
            _ => None,
        }
    }

    /// The theme the preference cookie asks for (system when none).
    pub fn from_cookie(headers: &HeaderMap) -> Self {
        cookie_value(headers, THEME_COOKIE)
            .and_then(Self::parse)
            .unwrap_or(Self::System)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    /// The theme the header switch moves to.
    pub fn next(&self) -> Self {
        match self {
            Self::System => Self::Dark,
            Self::Dark => Self::Light,
            Self::Light => Self::System,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::System => "Theme: system",
            Self::Light => "Theme: light",
            Self::Dark => "Theme: dark",
        }
    }
}

/// What the shared layout needs.
#[derive(Debug)]
pub struct PageCtx {
    pub title: String,
    pub project: String,
    pub theme: Theme,
    /// Empty on pages rendered outside a session (error pages).
    pub csrf: String,
    pub flash: Option<Flash>,
    pub user: Option<UserPublic>,
    /// Which main navigation entry is current.
    pub nav: &'static str,
    /// The current path, where the theme switch comes back to.
    pub path: String,
    pub assets: &'static AssetUrls,
}

impl PageCtx {
    /// A context with no session (error pages).
    pub fn bare(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            project: "Userhub".to_owned(),
            theme: Theme::System,
            csrf: String::new(),
            flash: None,
            user: None,
            nav: "",
            path: "/".to_owned(),
            assets: assets::urls(),
        }
    }

    fn is_current(&self, nav: &str) -> bool {
        self.nav == nav
    }
}

/// Renders `template` with `status`, or a plain 500 if rendering fails.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>Something went wrong.</p>"),
            )
                .into_response()
        }
    }
}

/// Previous/next links of a paginated list.
#[derive(Debug)]
pub struct Pager {
    pub page: u64,
    pub pages: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(base: &str, page: u64, count: i64, page_size: u32) -> Self {
        let count = u64::try_from(count).unwrap_or(0);
        let pages = count.div_ceil(u64::from(page_size)).max(1);
        Self {
            page,
            pages,
            prev: (page > 1).then(|| format!("{base}?page={}", (page - 1).min(pages))),
            next: (page < pages).then(|| format!("{base}?page={}", page + 1)),
        }
    }
}

/// A timestamp's date (`YYYY-MM-DD`), empty when there is none.
pub fn date(ts: &Option<DateTime<Utc>>) -> String {
    ts.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[derive(Debug, Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub ctx: PageCtx,
    pub email: String,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "signup.html")]
pub struct SignupPage {
    pub ctx: PageCtx,
    pub email: String,
    pub full_name: String,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "recover.html")]
pub struct RecoverPage {
    pub ctx: PageCtx,
    pub email: String,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "reset.html")]
pub struct ResetPage {
    pub ctx: PageCtx,
    pub token: String,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub ctx: PageCtx,
    pub name: String,
}

#[derive(Debug, Template)]
#[template(path = "items.html")]
pub struct ItemsPage {
    pub ctx: PageCtx,
    pub items: Vec<ItemPublic>,
    pub count: i64,
    pub pager: Pager,
}

#[derive(Debug, Template)]
#[template(path = "item_form.html")]
pub struct ItemFormPage {
    pub ctx: PageCtx,
    pub heading: &'static str,
    pub action: String,
    pub submit: &'static str,
    pub title: String,
    pub description: String,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub ctx: PageCtx,
    pub heading: String,
    pub message: String,
    pub action: String,
    pub submit: &'static str,
    pub cancel: String,
    pub error: Option<String>,
}

/// Tabs of the settings page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsTab {
    Profile,
    Password,
    Appearance,
    Danger,
}

#[derive(Debug, Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub ctx: PageCtx,
    pub tab: SettingsTab,
    pub full_name: String,
    pub email: String,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub ctx: PageCtx,
    pub users: Vec<UserPublic>,
    pub me_id: Uuid,
    pub count: i64,
    pub pager: Pager,
}

#[derive(Debug, Template)]
#[template(path = "user_form.html")]
pub struct UserFormPage {
    pub ctx: PageCtx,
    pub heading: &'static str,
    pub action: String,
    pub submit: &'static str,
    pub is_new: bool,
    pub email: String,
    pub full_name: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub error: Option<String>,
}

#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub ctx: PageCtx,
    pub status: u16,
    pub heading: String,
    pub message: String,
}
