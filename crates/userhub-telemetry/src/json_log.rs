//! One JSON object per log line: `timestamp` (RFC 3339, UTC), `level`,
//! `target`, `message`, the event's own fields, and the `trace_id`,
//! `span_id` and `request_id` of the request being served (taken from the
//! innermost enclosing span that carries them). Error values are written
//! with their whole `source()` chain.

use std::io::Write;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Record};
use tracing::{Event, Id, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Longest value of any one field on a log line (bytes, UTF-8 boundary);
/// longer values end in `…[truncated]`. A backstop: request headers are
/// capped far lower before they are logged ([`MAX_LOGGED_HEADER_BYTES`]).
pub const MAX_LOGGED_FIELD_BYTES: usize = 8 * 1024;

/// Longest request-header value (such as `User-Agent`) written to a log
/// line or span attribute, in bytes.
pub const MAX_LOGGED_HEADER_BYTES: usize = 256;

/// `value`, cut to at most `max` bytes on a character boundary and marked
/// `…[truncated]` when it was longer.
pub fn truncate_for_log(value: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if value.len() <= max {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}…[truncated]", &value[..end]))
}

fn capped(value: &str) -> Value {
    Value::from(truncate_for_log(value, MAX_LOGGED_FIELD_BYTES).into_owned())
}

/// Span fields copied onto every log line emitted inside the span.
const CORRELATION_FIELDS: [&str; 3] = ["trace_id", "span_id", "request_id"];

/// The JSON log layer, writing through `W`.
#[derive(Debug)]
pub struct JsonLogLayer<W> {
    make_writer: W,
}

impl<W> JsonLogLayer<W> {
    pub fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// Correlation fields recorded on a span (only those; other span fields
/// stay in the trace).
#[derive(Debug, Default)]
struct SpanCorrelation(Map<String, Value>);

struct CorrelationVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for CorrelationVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if CORRELATION_FIELDS.contains(&field.name()) {
            self.0.insert(field.name().to_owned(), Value::from(value));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if CORRELATION_FIELDS.contains(&field.name()) {
            self.0
                .insert(field.name().to_owned(), Value::from(format!("{value:?}")));
        }
    }
}

struct EventVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for EventVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), capped(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), capped(&error_chain(value)));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), capped(&format!("{value:?}")));
    }
}

/// `error: cause: root cause`.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl<S, W> Layer<S> for JsonLogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut CorrelationVisitor(&mut fields));
        if !fields.is_empty() {
            span.extensions_mut().insert(SpanCorrelation(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        values.record(&mut CorrelationVisitor(&mut fields));
        if fields.is_empty() {
            return;
        }
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanCorrelation>() {
            Some(existing) => existing.0.extend(fields),
            None => ext.insert(SpanCorrelation(fields)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert("level".into(), Value::from(meta.level().as_str()));
        line.insert("target".into(), Value::from(meta.target()));
        let mut fields = Map::new();
        event.record(&mut EventVisitor(&mut fields));
        line.insert(
            "message".into(),
            fields.remove("message").unwrap_or(Value::from("")),
        );
        if let Some(scope) = ctx.event_scope(event) {
            let mut first = true;
            for span in scope {
                if first {
                    line.insert("span".into(), Value::from(span.name()));
                    first = false;
                }
                if let Some(SpanCorrelation(found)) = span.extensions().get::<SpanCorrelation>() {
                    for (k, v) in found {
                        line.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
        for (k, v) in fields {
            // Event fields never overwrite the standard keys.
            line.entry(k).or_insert(v);
        }
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        let _ = self
            .make_writer
            .make_writer_for(meta)
            .write_all(text.as_bytes());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("query failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn lines_are_json_with_correlation_and_error_chains() {
        let buf = Buf::default();
        let subscriber = tracing_subscriber::registry().with(JsonLogLayer::new(buf.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!(
                "http_request",
                trace_id = tracing::field::Empty,
                request_id = "req-1"
            );
            outer.record("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
            let _g = outer.enter();
            let inner = tracing::info_span!("db", span_id = "00f067aa0ba902b7");
            let _i = inner.enter();
            let err = Outer(std::io::Error::other("connection reset"));
            tracing::error!(
                error = &err as &dyn std::error::Error,
                status = 500u64,
                "request failed"
            );
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let v: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["level"], "ERROR");
        assert_eq!(v["message"], "request failed");
        assert_eq!(v["target"], module_path!());
        assert_eq!(v["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(v["span_id"], "00f067aa0ba902b7");
        assert_eq!(v["request_id"], "req-1");
        assert_eq!(v["span"], "db");
        assert_eq!(v["status"], 500);
        assert_eq!(v["error"], "query failed: connection reset");
        let ts = v["timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z'), "{ts}");
        chrono::DateTime::parse_from_rfc3339(ts).unwrap();
    }
}
