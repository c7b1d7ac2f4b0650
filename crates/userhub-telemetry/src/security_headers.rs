//! Security headers, decided in this one place for every response and set
//! with tower-http's `SetResponseHeader`:
//!
//! - [`api_security_headers`]: the API's defaults; a handler's own value
//!   wins (the `/docs` page sets its own Content-Security-Policy, and so do
//!   the UI's pages all-in-one);
//! - [`page_security_headers`]: the UI's policy ([`PAGE_CSP`], same-origin
//!   referrers, HTML never cached), over whatever a handler set;
//!   [`harden_page`] applies it to a page answered outside a router (the
//!   application's 404 and panic pages).

use axum::Router;
use axum::response::Response;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use tower_http::set_header::SetResponseHeaderLayer;

/// The UI's Content-Security-Policy: no inline script or style, nothing
/// from elsewhere, no framing.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const API_DEFAULTS: [(HeaderName, &str); 7] = [
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (X_FRAME_OPTIONS, "DENY"),
    (REFERRER_POLICY, "no-referrer"),
    (
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    ),
];

const PAGE_POLICY: [(HeaderName, &str); 4] = [
    (CONTENT_SECURITY_POLICY, PAGE_CSP),
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (X_FRAME_OPTIONS, "DENY"),
    (REFERRER_POLICY, "same-origin"),
];

/// `router` with the API's default security headers on every response
/// that does not set them itself.
pub fn api_security_headers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    set_each(router, API_DEFAULTS, SetResponseHeaderLayer::if_not_present)
}

/// `router` with the UI's security headers on every response.
pub fn page_security_headers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    set_each(router, PAGE_POLICY, SetResponseHeaderLayer::overriding).layer(
        SetResponseHeaderLayer::overriding(CACHE_CONTROL, |response: &Response| {
            page_cache_control(response.headers())
        }),
    )
}

/// One `SetResponseHeader` layer per header, made by `mode`.
fn set_each<S, const N: usize>(
    router: Router<S>,
    headers: [(HeaderName, &'static str); N],
    mode: fn(HeaderName, HeaderValue) -> SetResponseHeaderLayer<HeaderValue>,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(mode(name, HeaderValue::from_static(value)))
    })
}

/// The UI's security headers on a response made outside a router.
pub fn harden_page(headers: &mut HeaderMap) {
    for (name, value) in PAGE_POLICY {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Some(value) = page_cache_control(headers) {
        headers.insert(CACHE_CONTROL, value);
    }
}

/// `no-store` for HTML and for anything that says nothing about caching
/// (assets, which are content-hashed, say `immutable`).
fn page_cache_control(headers: &HeaderMap) -> Option<HeaderValue> {
    let is_html = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    (is_html || !headers.contains_key(CACHE_CONTROL)).then(|| HeaderValue::from_static("no-store"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use http::{Request, header};
    use tower::ServiceExt;

    use super::*;

    async fn headers_of(router: Router) -> HeaderMap {
        let response = router
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        response.headers().clone()
    }

    #[tokio::test]
    async fn api_defaults_yield_to_a_handlers_own_value() {
        let own_csp = "default-src 'self'";
        let router = Router::new().route(
            "/",
            get(move || async move { ([(header::CONTENT_SECURITY_POLICY, own_csp)], "{}") }),
        );
        let h = headers_of(api_security_headers(router)).await;
        assert_eq!(h[CONTENT_SECURITY_POLICY], own_csp);
        assert_eq!(h[REFERRER_POLICY], "no-referrer");
        assert_eq!(h["cross-origin-opener-policy"], "same-origin");
        assert_eq!(
            h["permissions-policy"],
            "camera=(), microphone=(), geolocation=()"
        );
        assert!(h.get(CACHE_CONTROL).is_none());
    }

    #[tokio::test]
    async fn pages_get_the_page_policy_and_are_not_cached() {
        let page = Router::new().route(
            "/",
            get(|| async {
                (
                    [
                        (header::CONTENT_SECURITY_POLICY, "default-src *"),
                        (header::CACHE_CONTROL, "max-age=60"),
                    ],
                    axum::response::Html("<p>hi</p>"),
                )
            }),
        );
        let h = headers_of(page_security_headers(page)).await;
        assert_eq!(h[CONTENT_SECURITY_POLICY], PAGE_CSP);
        assert_eq!(h[REFERRER_POLICY], "same-origin");
        assert_eq!(h[CACHE_CONTROL], "no-store");
        let asset = Router::new().route(
            "/",
            get(|| async { ([(header::CACHE_CONTROL, "public, immutable")], "css") }),
        );
        let h = headers_of(page_security_headers(asset)).await;
        assert_eq!(h[CACHE_CONTROL], "public, immutable");
        let mut bare = HeaderMap::new();
        harden_page(&mut bare);
        assert_eq!(bare[CONTENT_SECURITY_POLICY], PAGE_CSP);
        assert_eq!(bare[CACHE_CONTROL], "no-store");
    }
}
