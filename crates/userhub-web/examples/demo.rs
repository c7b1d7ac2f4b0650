//! The UI over an in-memory stand-in of the API, for working on pages and
//! styles without a database: `cargo run -p userhub-web --example demo`
//! (listens on `USERHUB_BIND`, default `127.0.0.1:0`; log in as
//! `admin@example.com` / `password123`).
#![allow(clippy::unwrap_used, clippy::result_large_err, dead_code)]

#[path = "../tests/support/fake_api.rs"]
mod fake_api;

use userhub_web::{InProcessTransport, WebSettings, WebState};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bind = std::env::var("USERHUB_BIND").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let settings = WebSettings::for_tests("demo-cookie-key-demo-cookie-key-demo");
    let state = WebState::in_process(
        settings,
        InProcessTransport::new(fake_api::router(fake_api::seeded())),
    );
    let app = userhub_web::router(state.clone()).merge(userhub_web::not_found_router(state));
    let listener = tokio::net::TcpListener::bind(&bind).await.unwrap();
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
    .unwrap();
}
