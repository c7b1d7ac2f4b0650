//! `/api/v1/openapi.json` and interactive docs at `/docs`: Swagger UI from
//! `utoipa-swagger-ui` (its `vendored` feature: the files come from
//! crates.io and are compiled into the binary; no CDN, no download at build
//! time, no inline script).
//!
//! `/docs` answers the page itself, not a redirect to `/docs/` (the crate's
//! own router and its `index.html`, whose links are relative, need the
//! slash); the page loads the crate's files from `/docs/<file>`, the
//! configuration included (`swagger-initializer.js`, generated from
//! [`Config`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa_swagger_ui::Config;

use crate::state::AppState;

const OPENAPI_URL: &str = "/api/v1/openapi.json";

/// What the page loads from the Swagger UI distribution; nothing else of it
/// is served (an unknown path stays the caller's 404).
const FILES: [&str; 4] = [
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-initializer.js",
];

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Userhub API docs</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/swagger-initializer.js"></script>
</body>
</html>
"#;

/// Swagger UI sets inline styles on elements; scripts stay same-origin only.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    let config = Arc::new(
        Config::new([OPENAPI_URL])
            .use_base_layout()
            .deep_linking(true)
            .persist_authorization(false),
    );
    let router = Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/docs", get(|| async { with_docs_headers(Html(PAGE)) }));
    FILES.into_iter().fold(router, |router, file| {
        let config = config.clone();
        router.route(
            &format!("/docs/{file}"),
            get(move || async move { swagger_file(file, config) }),
        )
    })
}

async fn openapi_json(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document(
        state.settings.environment.is_development(),
    ))
}

fn swagger_file(file: &str, config: Arc<Config<'static>>) -> Response {
    match utoipa_swagger_ui::serve(file, config) {
        Ok(Some(found)) => with_docs_headers((
            [(header::CONTENT_TYPE, found.content_type)],
            found.bytes.into_owned(),
        )),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, file, "cannot serve Swagger UI");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn with_docs_headers(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_loads_is_in_the_distribution() {
        let config = Arc::new(Config::new([OPENAPI_URL]));
        for file in FILES {
            assert!(PAGE.contains(&format!("/docs/{file}")), "{file}");
            let found = utoipa_swagger_ui::serve(file, config.clone());
            assert!(matches!(found, Ok(Some(_))), "{file}");
        }
    }

    #[test]
    fn the_initializer_points_at_the_openapi_document() {
        let config = Arc::new(Config::new([OPENAPI_URL]).use_base_layout());
        let Ok(Some(init)) = utoipa_swagger_ui::serve("swagger-initializer.js", config) else {
            panic!("no swagger-initializer.js");
        };
        let init = String::from_utf8_lossy(&init.bytes);
        assert!(init.contains(r#""url": "/api/v1/openapi.json""#), "{init}");
        assert!(!init.contains("petstore"), "{init}");
    }
}
