//! The span around every page handler: `web.page` for a view (GET),
//! `web.form` for a form post, with the route template axum matched, so no
//! handler restates its route.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::Method;
use tracing::Instrument;

pub async fn page_span(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_default();
    let span = if request.method() == Method::POST {
        tracing::info_span!("web.form", route = route.as_str())
    } else {
        tracing::info_span!("web.page", route = route.as_str())
    };
    next.run(request).instrument(span).await
}
