//! W3C trace context (`traceparent`, `tracestate`) and baggage in HTTP
//! headers: extracted from incoming requests, injected into outgoing ones.

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The remote parent context (and baggage) carried by `headers`.
pub fn extract_context(headers: &HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Writes the current span's trace context and baggage into `headers` of an
/// outgoing request (`reqwest::Request::headers_mut()`, `http::Request`).
pub fn inject_current_context(headers: &mut HeaderMap) {
    let cx = tracing::Span::current().context();
    inject_context(&cx, headers);
}

/// Writes `cx` into `headers`.
pub fn inject_context(cx: &opentelemetry::Context, headers: &mut HeaderMap) {
    if cx.span().span_context().is_valid() {
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(cx, &mut HeaderInjector(headers));
        });
    }
}

/// A `CLIENT` span for an outgoing HTTP call; enter it (or `.instrument()`
/// the call with it), inject its context with [`inject_current_context`] and
/// record `http.response.status_code` when the answer arrives.
pub fn client_span(method: &http::Method, url: &str) -> tracing::Span {
    tracing::info_span!(
        "HTTP client request",
        otel.name = %method,
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        url.full = %strip_query(url),
        http.response.status_code = tracing::field::Empty,
    )
}

/// URLs are recorded without their query string, which may carry secrets.
fn strip_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_not_recorded() {
        assert_eq!(
            strip_query("http://api:8000/api/v1/reset?token=secret"),
            "http://api:8000/api/v1/reset"
        );
        assert_eq!(strip_query("http://x/y"), "http://x/y");
    }
}
