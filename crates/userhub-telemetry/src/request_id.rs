//! `X-Request-Id` with tower-http's request-id layers: the client's id when
//! it is well-formed, else a new UUID v4; on the request (header and
//! [`RequestId`] extension) and echoed on the response.

use http::{HeaderName, HeaderValue, Request};
use tower::ServiceBuilder;
use tower::util::MapRequest;
pub use tower_http::request_id::RequestId;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestId, PropagateRequestIdLayer, SetRequestId, SetRequestIdLayer,
};

/// The request id's header.
pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// `inner` behind the request-id layers.
pub(crate) type WithRequestId<S, B> =
    MapRequest<SetRequestId<PropagateRequestId<S>, MakeRequestUuid>, fn(Request<B>) -> Request<B>>;

pub(crate) fn with_request_id<S, B>(inner: S) -> WithRequestId<S, B> {
    ServiceBuilder::new()
        .map_request(drop_unsafe_id as fn(Request<B>) -> Request<B>)
        .layer(SetRequestIdLayer::new(
            REQUEST_ID_HEADER.clone(),
            MakeRequestUuid,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER.clone()))
        .service(inner)
}

/// Removes a client's id unless it is 1..=128 characters of
/// `[A-Za-z0-9._:-]` (nothing that could forge log lines), so that a new
/// one is made.
fn drop_unsafe_id<B>(mut request: Request<B>) -> Request<B> {
    if request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .is_some_and(|v| !acceptable(v))
    {
        request.headers_mut().remove(&REQUEST_ID_HEADER);
    }
    request
}

fn acceptable(value: &HeaderValue) -> bool {
    let v = value.as_bytes();
    (1..=128).contains(&v.len())
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(b))
}

/// The id the request-id layers gave `request`.
pub(crate) fn request_id_of<B>(request: &Request<B>) -> &str {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::convert::Infallible;

    use http::Response;
    use tower::{ServiceExt, service_fn};

    use super::*;

    /// The id the handler saw and the one the response carries.
    async fn ids(sent: Option<&str>) -> (String, String) {
        let service = with_request_id(service_fn(|request: Request<()>| async move {
            let seen = request_id_of(&request).to_owned();
            Ok::<_, Infallible>(Response::new(seen))
        }));
        let mut request = Request::new(());
        if let Some(sent) = sent {
            request
                .headers_mut()
                .insert(&REQUEST_ID_HEADER, HeaderValue::from_str(sent).unwrap());
        }
        let response = service.oneshot(request).await.unwrap();
        let echoed = response.headers()[&REQUEST_ID_HEADER]
            .to_str()
            .unwrap()
            .to_owned();
        (response.into_body(), echoed)
    }

    #[tokio::test]
    async fn accepts_safe_ids_and_replaces_others() {
        let (seen, echoed) = ids(Some("abc-123_x.y:z")).await;
        assert_eq!(
            (seen.as_str(), echoed.as_str()),
            ("abc-123_x.y:z", "abc-123_x.y:z")
        );
        for bad in [
            None,
            Some(""),
            Some("has space"),
            Some("quote\""),
            Some(&*"x".repeat(129)),
        ] {
            let (seen, echoed) = ids(bad).await;
            assert_eq!(seen, echoed);
            assert!(uuid::Uuid::parse_str(&seen).is_ok(), "{bad:?} -> {seen}");
        }
    }
}
