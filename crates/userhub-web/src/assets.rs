//! Static assets embedded in the binary, served under content-hashed names
//! (`/static/app.<hash>.css`) with a year-long immutable cache.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};

struct Asset {
    stem: &'static str,
    ext: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const FILES: &[Asset] = &[
    Asset {
        stem: "app",
        ext: "css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../static/app.css"),
    },
    Asset {
        stem: "icon",
        ext: "svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../static/icon.svg"),
    },
];

/// The public URLs of the embedded assets.
#[derive(Debug)]
pub struct AssetUrls {
    pub css: String,
    pub icon: String,
}

static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|a| format!("{}.{:016x}.{}", a.stem, fnv1a(a.body), a.ext))
        .collect()
});

static URLS: LazyLock<AssetUrls> = LazyLock::new(|| AssetUrls {
    css: format!("/static/{}", NAMES[0]),
    icon: format!("/static/{}", NAMES[1]),
});

pub fn urls() -> &'static AssetUrls {
    &URLS
}

/// The stylesheet, for size checks.
pub fn css() -> &'static [u8] {
    FILES[0].body
}

/// `GET /static/{name}`: only the current hashed names exist.
pub async fn serve(Path(name): Path<String>) -> Response {
    match NAMES.iter().position(|n| *n == name) {
        Some(i) => (
            [
                (CONTENT_TYPE, FILES[i].content_type),
                (CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            FILES[i].body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(CACHE_CONTROL, "no-store")],
            "not found",
        )
            .into_response(),
    }
}

/// 64-bit FNV-1a: stable across builds and Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_a_content_hash() {
        assert!(urls().css.starts_with("/static/app."));
        assert!(urls().css.ends_with(".css"));
        assert_eq!(urls().css.len(), "/static/app..css".len() + 16);
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
