//! One JSON object per log line: `timestamp` (RFC 3339, UTC), `level`,
//! `target`, `message`, the event's own fields, and the `trace_id`,
//! `span_id` and `request_id` of the request being served (taken from the
//! innermost enclosing span that carries them). Error values are written
//! with their whole `source()` chain.

use std::io::Write;

use serde_json::Value;
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
struct SpanCorrelation(Vec<(&'static str, String)>);

impl SpanCorrelation {
    fn set(&mut self, name: &'static str, value: String) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(existing) => existing.1 = value,
            None => self.0.push((name, value)),
        }
    }
}

struct CorrelationVisitor<'a>(&'a mut SpanCorrelation);

impl Visit for CorrelationVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if CORRELATION_FIELDS.contains(&field.name()) {
            self.0.set(field.name(), value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if CORRELATION_FIELDS.contains(&field.name()) {
            self.0.set(field.name(), format!("{value:?}"));
        }
    }
}

/// Keys a line holds before its event's own fields.
const STANDARD_KEYS: [&str; 5] = ["timestamp", "level", "target", "message", "span"];

/// Writes an event's fields as `,"name":value` into `out`, skipping names
/// already on the line (`taken`); the message is kept aside.
struct EventVisitor<'a> {
    out: &'a mut Vec<u8>,
    taken: &'a [&'static str],
    written: Vec<&'static str>,
    message: Option<String>,
}

impl EventVisitor<'_> {
    fn key(&mut self, field: &Field) -> bool {
        let name = field.name();
        if name == "message" {
            return false;
        }
        if STANDARD_KEYS.contains(&name)
            || self.taken.contains(&name)
            || self.written.contains(&name)
        {
            return false;
        }
        self.written.push(name);
        self.out.push(b',');
        write_str(self.out, name);
        self.out.push(b':');
        true
    }
    fn text(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if self.message.is_none() {
                self.message = Some(truncate_for_log(value, MAX_LOGGED_FIELD_BYTES).into_owned());
            }
        } else if self.key(field) {
            write_str(self.out, &truncate_for_log(value, MAX_LOGGED_FIELD_BYTES));
        }
    }
    fn number(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            if self.message.is_none() {
                self.message = Some(value.to_string());
            }
        } else if self.key(field) {
            let _ = serde_json::to_writer(&mut *self.out, &value);
        }
    }
}

impl Visit for EventVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.number(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.number(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.text(field, &error_chain(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.text(field, &format!("{value:?}"));
    }
}

/// `value` as a JSON string.
fn write_str(out: &mut Vec<u8>, value: &str) {
    let _ = serde_json::to_writer(out, value);
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
        let mut fields = SpanCorrelation::default();
        attrs.record(&mut CorrelationVisitor(&mut fields));
        if !fields.0.is_empty() {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanCorrelation::default();
        values.record(&mut CorrelationVisitor(&mut fields));
        if fields.0.is_empty() {
            return;
        }
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanCorrelation>() {
            Some(existing) => {
                for (name, value) in fields.0 {
                    existing.set(name, value);
                }
            }
            None => ext.insert(fields),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        // The innermost span's name, then each correlation field from the
        // innermost span that has it.
        let mut span_name = None;
        let mut correlation: Vec<(&'static str, String)> = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                span_name.get_or_insert(span.name());
                if let Some(SpanCorrelation(found)) = span.extensions().get::<SpanCorrelation>() {
                    for (name, value) in found {
                        if !correlation.iter().any(|(n, _)| n == name) {
                            correlation.push((name, value.clone()));
                        }
                    }
                }
            }
        }
        let taken: Vec<&'static str> = correlation.iter().map(|(n, _)| *n).collect();
        let mut fields = Vec::with_capacity(256);
        let mut visitor = EventVisitor {
            out: &mut fields,
            taken: &taken,
            written: Vec::new(),
            message: None,
        };
        event.record(&mut visitor);
        let message = visitor.message.take().unwrap_or_default();

        let mut line = Vec::with_capacity(192 + fields.len());
        line.extend_from_slice(b"{\"timestamp\":");
        write_str(
            &mut line,
            &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        );
        line.extend_from_slice(b",\"level\":");
        write_str(&mut line, meta.level().as_str());
        line.extend_from_slice(b",\"target\":");
        write_str(&mut line, meta.target());
        line.extend_from_slice(b",\"message\":");
        write_str(&mut line, &message);
        if let Some(name) = span_name {
            line.extend_from_slice(b",\"span\":");
            write_str(&mut line, name);
        }
        for (name, value) in &correlation {
            line.push(b',');
            write_str(&mut line, name);
            line.push(b':');
            write_str(&mut line, value);
        }
        line.extend_from_slice(&fields);
        line.extend_from_slice(b"}\n");
        let _ = self.make_writer.make_writer_for(meta).write_all(&line);
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
