//! Page handlers, grouped by area, and what they share: the [`Visit`] and
//! [`Authed`] extractors and the [`WebError`] every handler may return.

pub mod admin;
pub mod auth;
pub mod dashboard;
pub mod form;
pub mod items;
pub mod records;
pub mod settings;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use http::request::Parts;
use serde::Deserialize;

use crate::api::{ApiError, Caller, UserPublic};
use crate::cookie::{Flash, FlashKind};
use crate::error_page;
use crate::session::{EndSession, Session};
use crate::state::WebState;
use crate::views::{PageCtx, Theme};

/// One page request: the session, the chosen theme and who to call the API as.
#[derive(Debug, Clone)]
pub struct Visit {
    pub session: Session,
    pub theme: Theme,
    pub path: String,
    pub caller: Caller,
    project: String,
}

impl Visit {
    /// The layout context; takes the pending flash message.
    pub fn ctx(&self, title: &str, nav: &'static str, user: Option<UserPublic>) -> PageCtx {
        PageCtx {
            title: title.to_owned(),
            project: self.project.clone(),
            theme: self.theme,
            csrf: self.session.csrf(),
            flash: self.session.take_flash(),
            user,
            nav,
            path: self.path.clone(),
            assets: crate::assets::urls(),
        }
    }

    /// Redirect after a successful post, with a flash message.
    pub fn done(&self, to: &str, message: &str) -> Response {
        self.session.set_flash(FlashKind::Success, message);
        Redirect::to(to).into_response()
    }
}

/// The theme chosen with the switch, from its cookie.
impl FromRequestParts<WebState> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state).await?;
        let caller = Caller {
            token: session.token(),
            peer: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
            forwarded_for: parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        };
        Ok(Self {
            theme: Theme::from_cookie(&parts.headers),
            path: parts.uri.path().to_owned(),
            caller,
            session,
            project: state.settings.project_name.clone(),
        })
    }
}

/// A logged-in visit: the token was accepted and names `user`.
#[derive(Debug, Clone)]
pub struct Authed {
    pub visit: Visit,
    pub user: UserPublic,
}

impl Authed {
    pub fn ctx(&self, title: &str, nav: &'static str) -> PageCtx {
        self.visit.ctx(title, nav, Some(self.user.clone()))
    }

    pub fn caller(&self) -> &Caller {
        &self.visit.caller
    }

    pub fn done(&self, to: &str, message: &str) -> Response {
        self.visit.done(to, message)
    }

    /// Superusers only, else the API's own refusal message.
    pub fn require_superuser(&self) -> Result<(), WebError> {
        if self.user.is_superuser {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "The user doesn't have enough privileges".to_owned(),
            ))
        }
    }
}

impl FromRequestParts<WebState> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let visit = Visit::from_request_parts(parts, state).await?;
        if visit.caller.token.is_none() {
            return Err(Redirect::to("/login").into_response());
        }
        match state.api.me(&visit.caller).await {
            Ok(user) => Ok(Self { visit, user }),
            // The token names a user that is gone or inactive: log in again.
            Err(ApiError::Rejected { status, detail })
                if status == StatusCode::NOT_FOUND || detail == "Inactive user" =>
            {
                Err(end_session(&detail))
            }
            Err(e) => Err(WebError::Api(e).into_response()),
        }
    }
}

/// Sends the browser to the login page, ending the session with `message`.
pub fn end_session(message: &str) -> Response {
    let mut response = Redirect::to("/login").into_response();
    response.extensions_mut().insert(EndSession(Flash {
        kind: FlashKind::Error,
        text: message.to_owned(),
    }));
    response
}

/// What a page handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::NotFound => error_page::not_found_page(Theme::System, None),
            Self::Forbidden(detail) => error_page::render(
                StatusCode::FORBIDDEN,
                "Access denied",
                &format!("{detail}. You are not allowed to view this page."),
            ),
            Self::Api(ApiError::Unauthenticated { detail }) => {
                tracing::info!(%detail, "API rejected the session token");
                end_session("Your session has expired. Please log in again.")
            }
            Self::Api(ApiError::Rejected { status, detail }) => match status {
                StatusCode::NOT_FOUND => error_page::render(status, "Not found", &detail),
                StatusCode::FORBIDDEN => error_page::render(status, "Access denied", &detail),
                _ => error_page::render(status, "Request refused", &detail),
            },
            Self::Api(ApiError::Timeout) => {
                tracing::warn!("API call timed out");
                error_page::render(
                    StatusCode::GATEWAY_TIMEOUT,
                    "The service is slow right now",
                    "The request took too long. Please try again in a moment.",
                )
            }
            Self::Api(e) => {
                tracing::error!(error = %e, "API call failed");
                error_page::render(
                    StatusCode::BAD_GATEWAY,
                    "The service is unavailable",
                    "Something went wrong on our side. Please try again in a moment.",
                )
            }
        }
    }
}

/// `?page=N` (1-based; anything else is page 1).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    page: Option<String>,
}

impl PageQuery {
    pub fn page(&self) -> u64 {
        self.page
            .as_deref()
            .and_then(|p| p.parse::<u64>().ok())
            .filter(|p| (1..=1_000_000).contains(p))
            .unwrap_or(1)
    }
}

/// A path id, or the 404 page.
pub fn parse_id(raw: &str) -> Result<uuid::Uuid, WebError> {
    uuid::Uuid::parse_str(raw).map_err(|_| WebError::NotFound)
}
