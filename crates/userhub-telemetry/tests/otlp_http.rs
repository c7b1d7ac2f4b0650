//! Spans reach a real OTLP HTTP/protobuf receiver (`/v1/traces`).

#![allow(clippy::unwrap_used)]

mod support;

use support::{Fixture, Protocol, traceparent};

#[test]
fn spans_are_exported_over_http_protobuf() {
    let fx = Fixture::start(Protocol::HttpProtobuf);
    fx.rt.block_on(async {
        let resp = fx
            .client
            .get(format!("http://{}/items/7", fx.app))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let (trace_id, span_id, _) = traceparent(&resp);
        let spans = fx.spans(&trace_id, 2).await;
        let server = spans
            .iter()
            .find(|s| s.kind == 2)
            .unwrap_or_else(|| panic!("{spans:#?}"));
        assert_eq!(server.span_id, span_id);
        let db = spans.iter().find(|s| s.name == "SELECT item").unwrap();
        assert_eq!(db.parent_span_id, span_id);
    });
}
