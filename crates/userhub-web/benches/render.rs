//! Page render time in the web service, excluding the API: every API call
//! is answered instantly by a canned transport, so what is measured is the
//! session cookie, CSRF check, handler, template and headers.
//!
//! `cargo bench -p userhub-web --bench render` prints p50 / p99 / max per
//! page and the page's HTML + CSS size (targets: p99 < 5 ms, < 50 KB).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use axum::body::Body;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use http::{Request, Response};
use tower::ServiceExt;
use userhub_contract::{ErrorDetail, ItemPublic, ItemsPublic, Token, UserPublic, UsersPublic};
use userhub_web::{Transport, TransportError, WebSettings, WebState};
use uuid::Uuid;

const USER_ID: Uuid = Uuid::from_u128(0x6f1c1b8e_9d7a_4a53_8d4e_2f0b8f6f6a11);
const ITEM_ID: Uuid = Uuid::from_u128(0x0b5e2c4a_1f2d_4e8b_9a7c_3d6e5f4a3b2c);
const WARMUP: usize = 200;
const RUNS: usize = 3000;

#[derive(Debug)]
struct Canned;

fn user(n: usize) -> UserPublic {
    UserPublic {
        id: if n == 0 { USER_ID } else { nth_id(0x8000, n) },
        email: format!("user{n}@example.com"),
        is_active: true,
        is_superuser: n == 0,
        full_name: Some(format!("User Number {n}")),
        created_at: Some(created_at()),
    }
}

fn item(n: usize) -> ItemPublic {
    ItemPublic {
        id: if n == 0 { ITEM_ID } else { nth_id(0x9000, n) },
        title: format!("Item number {n} with a reasonably long title"),
        description: Some("A description of moderate length for the benchmark".to_owned()),
        owner_id: USER_ID,
        created_at: Some(created_at()),
    }
}

fn nth_id(group: u16, n: usize) -> Uuid {
    format!("00000000-0000-4000-{group:04x}-{n:012}")
        .parse()
        .unwrap()
}

fn created_at() -> DateTime<Utc> {
    "2026-01-02T03:04:05Z".parse().unwrap()
}

fn json(value: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

impl Transport for Canned {
    fn send(
        &self,
        request: Request<Body>,
    ) -> BoxFuture<'static, Result<Response<Body>, TransportError>> {
        let path = request.uri().path().to_owned();
        let body = match path.as_str() {
            "/api/v1/login/access-token" => json(Token {
                access_token: "token".to_owned(),
                token_type: "bearer".to_owned(),
            }),
            "/api/v1/users/me" => json(user(0)),
            "/api/v1/items" => json(ItemsPublic {
                data: (0..10).map(item).collect(),
                count: 42,
            }),
            "/api/v1/users" => json(UsersPublic {
                data: (0..10).map(user).collect(),
                count: 42,
            }),
            p if p.starts_with("/api/v1/items/") => json(item(0)),
            p if p.starts_with("/api/v1/users/") => json(user(1)),
            _ => json(ErrorDetail {
                detail: "Not Found".to_owned(),
            }),
        };
        Box::pin(async move {
            Ok(Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap())
        })
    }
}

async fn fetch(
    app: &axum::Router,
    request: Request<Body>,
) -> (http::StatusCode, http::HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn cookie_of(headers: &http::HeaderMap) -> String {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let settings = WebSettings::for_tests("bench-cookie-key-bench-cookie-key-bench");
        let state = WebState::new(settings, std::sync::Arc::new(Canned));
        let app = userhub_web::router(state.clone()).merge(userhub_web::not_found_router(state));

        // Log in once to get a session cookie.
        let (_, headers, body) =
            fetch(&app, Request::get("/login").body(Body::empty()).unwrap()).await;
        let anon = cookie_of(&headers);
        let csrf = body
            .split(r#"name="csrf" value=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let form = serde_urlencoded::to_string([
            ("csrf", csrf.as_str()),
            ("email", "a@b.c"),
            ("password", "password1"),
        ])
        .unwrap();
        let (status, headers, _) = fetch(
            &app,
            Request::post("/login")
                .header("cookie", &anon)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
        assert_eq!(status, http::StatusCode::SEE_OTHER);
        let session = cookie_of(&headers);

        let css = userhub_web::stylesheet().len();
        println!(
            "{:<28} {:>9} {:>9} {:>9} {:>12}",
            "page", "p50 ms", "p99 ms", "max ms", "HTML+CSS KB"
        );
        let pages: Vec<(&str, String, bool)> = vec![
            ("log in (anonymous)", "/login".into(), false),
            ("dashboard", "/".into(), true),
            ("items (10 rows)", "/items".into(), true),
            ("item form", "/items/new".into(), true),
            ("item edit", format!("/items/{ITEM_ID}/edit"), true),
            ("settings", "/settings".into(), true),
            ("admin (10 rows)", "/admin".into(), true),
            (
                "admin user edit",
                format!("/admin/users/{USER_ID}/edit"),
                true,
            ),
            ("404", "/no/such/page".into(), true),
        ];
        let mut worst = Duration::ZERO;
        for (name, path, auth) in pages {
            let cookie = if auth { session.clone() } else { anon.clone() };
            let mut times = Vec::with_capacity(RUNS);
            let mut size = 0;
            for i in 0..WARMUP + RUNS {
                let request = Request::get(&path)
                    .header("cookie", &cookie)
                    .body(Body::empty())
                    .unwrap();
                let start = Instant::now();
                let (status, _, body) = fetch(&app, request).await;
                let took = start.elapsed();
                assert!(
                    status.is_success() || status == http::StatusCode::NOT_FOUND,
                    "{path}: {status}"
                );
                if i >= WARMUP {
                    times.push(took);
                }
                size = body.len();
            }
            times.sort();
            let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            worst = worst.max(pct(0.99));
            println!(
                "{name:<28} {:>9.3} {:>9.3} {:>9.3} {:>12.1}",
                ms(pct(0.50)),
                ms(pct(0.99)),
                ms(*times.last().unwrap()),
                (size + css) as f64 / 1024.0
            );
        }
        println!(
            "worst p99: {:.3} ms over {RUNS} renders per page (target < 5 ms)",
            worst.as_secs_f64() * 1000.0
        );
    });
}
