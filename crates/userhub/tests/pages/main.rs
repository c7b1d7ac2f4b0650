//! The web UI's pages, handlers and templates, over the real API in process
//! on a fresh SQLite database (see `support`).
#![allow(clippy::unwrap_used)]

mod browser;
mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use browser::Browser;
use support::{ADMIN, PASSWORD, TestApp, USER};
use userhub_core::security::Verification;
use userhub_web::{WebSettings, WebState};

#[tokio::test]
async fn login_page_sets_a_hardened_session_cookie_and_headers() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    let page = b.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<label for=\"email\">Email</label>"));
    let cookie = page.set_cookie(userhub_web::SESSION_COOKIE).unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    assert!(cookie.contains("; Max-Age=691200"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );
    assert!(page.csrf().unwrap().len() >= 40);
    let h = &page.headers;
    assert_eq!(h["content-security-policy"], userhub_web::CSP);
    assert!(userhub_web::CSP.contains("frame-ancestors 'none'"));
    assert!(!userhub_web::CSP.contains("unsafe-inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store");
    assert!(!page.body.contains("<script"), "no script at all");
    assert!(!page.body.contains("style="), "no inline style");
    assert!(!page.body.contains("<style"), "no inline style");
}

#[tokio::test]
async fn cookie_is_secure_behind_https() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    let page = b
        .send(
            Request::get("/login")
                .header("x-forwarded-proto", "https")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        page.set_cookie(userhub_web::SESSION_COOKIE)
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.get("/login").await;
    let page = b
        .post_raw("/login", &[("email", USER), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Form expired"));
    let page = b
        .post_raw(
            "/login",
            &[("csrf", "forged"), ("email", USER), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(app.probe.seen().is_empty(), "no API call was made");
    // A cookie from another key is not a session either.
    let mut other = Browser::new(app.web());
    other.get("/login").await;
    let forged = other.cookies.clone();
    let mut b2 = Browser::new(app.web_with(WebSettings::for_tests(
        "a-different-key-a-different-key-0123",
    )));
    b2.cookies = forged;
    b2.csrf = other.csrf.clone();
    let page = b2
        .post("/login", &[("email", USER), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn broken_session_cookies_are_no_session() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.log_in(ADMIN, PASSWORD).await;
    let sealed = b.cookies[userhub_web::SESSION_COOKIE].clone();
    let first = if sealed.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{first}{}", &sealed[1..]);
    let truncated = &sealed[..sealed.len() / 2];
    let oversized = "A".repeat(9 * 1024);
    for value in ["garbage", "", "%", truncated, &tampered, &oversized] {
        let mut other = Browser::new(app.web());
        other
            .cookies
            .insert(userhub_web::SESSION_COOKIE.into(), value.to_owned());
        let page = other.get("/").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{value}");
        assert_eq!(page.location(), "/login", "{value}");
        assert_eq!(other.get("/login").await.status, StatusCode::OK, "{value}");
    }
    // The intact cookie still is the session.
    assert!(b.get("/").await.body.contains("Hi, Ada Admin"));
}

#[tokio::test]
async fn a_replayed_cookie_is_refused_after_the_session_lifetime() {
    let app = TestApp::start().await;
    let mut settings = WebSettings::for_tests(support::KEY);
    settings.session_max_age = Duration::from_secs(1);
    let mut b = Browser::new(app.web_with(settings));
    let page = b.log_in(ADMIN, PASSWORD).await;
    assert!(page.body.contains("Hi, Ada Admin"));
    // The browser would drop it (Max-Age=1); a copy replayed later is
    // refused by the issue time sealed inside.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let page = b.get("/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login");
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_login() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    for path in ["/", "/items", "/settings", "/admin", "/items/new"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), "/login", "{path}");
    }
}

#[tokio::test]
async fn wrong_password_shows_the_api_detail_inline() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.get("/login").await;
    let page = b
        .post("/login", &[("email", USER), ("password", "wrong-password")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Incorrect email or password"));
    assert!(
        page.body.contains(&format!("value=\"{USER}\"")),
        "email is kept"
    );
}

#[tokio::test]
async fn log_in_greets_the_user_and_log_out_ends_the_session() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    let before = b.get("/login").await.csrf().unwrap();
    let page = b.log_in(ADMIN, PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Hi, Ada Admin"));
    assert!(
        page.body.contains("href=\"/admin\""),
        "superusers see the admin link"
    );
    assert_ne!(page.csrf().unwrap(), before, "CSRF token rotates on login");
    let page = b.post_follow("/logout", &[]).await;
    assert!(page.body.contains("You have been logged out."));
    let page = b.get("/").await;
    assert_eq!(page.location(), "/login");
}

#[tokio::test]
async fn normal_users_cannot_reach_admin_pages() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    let page = b.log_in(USER, PASSWORD).await;
    assert!(page.body.contains("Hi, user@example.com"));
    assert!(!page.body.contains("href=\"/admin\""));
    let admin_id = app.user(ADMIN).await.id;
    for path in [
        "/admin".to_owned(),
        "/admin/users/new".to_owned(),
        format!("/admin/users/{admin_id}/edit"),
        format!("/admin/users/{admin_id}/delete"),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            page.body.contains("doesn&#x27;t have enough privileges")
                || page.body.contains("doesn&#39;t have enough privileges"),
            "{}",
            page.body
        );
    }
    let page = b
        .post(&format!("/admin/users/{admin_id}/delete"), &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(app.users().await, 2);
}

#[tokio::test]
async fn a_rejected_token_sends_the_user_to_login_with_a_message() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.log_in(USER, PASSWORD).await;
    app.revoke_tokens(USER).await;
    let page = b.get("/items").await;
    assert_eq!(page.location(), "/login");
    let page = b.get("/login").await;
    assert!(
        page.body
            .contains("Your session has expired. Please log in again.")
    );
    assert_eq!(
        b.get("/").await.location(),
        "/login",
        "the token was dropped"
    );
}

#[tokio::test]
async fn items_can_be_created_listed_paginated_edited_and_deleted() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.log_in(USER, PASSWORD).await;
    let page = b.get("/items").await;
    assert!(page.body.contains("You don't have any items yet"));

    b.get("/items/new").await;
    let page = b
        .post("/items", &[("title", ""), ("description", "")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body
            .contains("title: String should have at least 1 character")
    );

    for n in 1..=12 {
        let title = format!("Item number {n}");
        let page = b
            .post_follow("/items", &[("title", &title), ("description", "<b>d</b>")])
            .await;
        assert!(page.body.contains("Item created successfully."));
    }
    let page = b.get("/items").await;
    assert!(page.body.contains("12 items"));
    assert!(page.body.contains("Item number 12"));
    assert!(
        !page.body.contains("Item number 2<"),
        "page 1 holds the newest 10"
    );
    assert!(
        !page.body.contains("<b>d</b>") && page.body.contains("d&#60;/b&#62;"),
        "descriptions are escaped: {}",
        page.body
    );
    assert!(page.body.contains("Page 1 of 2"));
    let page = b.get("/items?page=2").await;
    assert!(page.body.contains("Item number 1<") && page.body.contains("Item number 2<"));
    assert_eq!(b.get("/items?page=9").await.location(), "/items?page=2");

    let id = app.items().await[0].id;
    let page = b.get(&format!("/items/{id}/edit")).await;
    assert!(page.body.contains("value=\"Item number 1\""));
    let page = b
        .post_follow(
            &format!("/items/{id}"),
            &[("title", "Renamed"), ("description", "")],
        )
        .await;
    assert!(page.body.contains("Item updated successfully."));
    let renamed = app.state.db.item_by_id(id).await.unwrap().unwrap();
    assert_eq!(renamed.title.as_str(), "Renamed");
    assert!(renamed.description.is_none());

    let page = b.get(&format!("/items/{id}/delete")).await;
    assert!(page.body.contains("“Renamed” will be permanently deleted"));
    let page = b.post_follow(&format!("/items/{id}/delete"), &[]).await;
    assert!(page.body.contains("Item deleted successfully"));
    assert_eq!(app.items().await.len(), 11);

    assert_eq!(
        b.get("/items/not-a-uuid/edit").await.status,
        StatusCode::NOT_FOUND
    );
    let missing = uuid::Uuid::new_v4();
    let page = b.get(&format!("/items/{missing}/edit")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Item not found"));
}

#[tokio::test]
async fn users_cannot_touch_other_users_items() {
    let app = TestApp::start().await;
    let mut admin = Browser::new(app.web());
    admin.log_in(ADMIN, PASSWORD).await;
    admin.get("/items/new").await;
    admin
        .post("/items", &[("title", "Admin's"), ("description", "")])
        .await;
    let id = app.items().await[0].id;
    let mut user = Browser::new(app.web());
    user.log_in(USER, PASSWORD).await;
    let page = user.get(&format!("/items/{id}/edit")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Not enough permissions"));
    assert_eq!(
        user.post(&format!("/items/{id}/delete"), &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.items().await.len(), 1);
}

#[tokio::test]
async fn signup_then_password_recovery_and_reset() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.get("/signup").await;
    let page = b
        .post(
            "/signup",
            &[
                ("email", "new@example.com"),
                ("full_name", "New"),
                ("password", "longenough"),
                ("confirm_password", "different!"),
            ],
        )
        .await;
    assert!(page.body.contains("The passwords do not match"));
    let page = b
        .post(
            "/signup",
            &[
                ("email", USER),
                ("full_name", ""),
                ("password", "longenough"),
                ("confirm_password", "longenough"),
            ],
        )
        .await;
    assert!(
        page.body
            .contains("The user with this email already exists in the system")
    );
    let page = b
        .post_follow(
            "/signup",
            &[
                ("email", "new@example.com"),
                ("full_name", "New"),
                ("password", "longenough"),
                ("confirm_password", "longenough"),
            ],
        )
        .await;
    assert!(page.body.contains("Your account has been created"));
    assert!(
        b.log_in("new@example.com", "longenough")
            .await
            .body
            .contains("Hi, New")
    );
    b.post("/logout", &[]).await;

    b.get("/recover-password").await;
    let page = b
        .post_follow("/recover-password", &[("email", "new@example.com")])
        .await;
    assert!(
        page.body
            .contains("If that email is registered, we sent a password recovery link")
    );
    let sent = app.smtp.wait_for(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(sent[0].to, ["new@example.com"]);

    let token = app.state.tokens.issue_reset("new@example.com");
    let page = b.get(&format!("/reset-password?token={token}")).await;
    assert!(page.body.contains(&format!("value=\"{token}\"")));
    let page = b
        .post(
            "/reset-password",
            &[
                ("token", "bogus"),
                ("new_password", "brandnew123"),
                ("confirm_password", "brandnew123"),
            ],
        )
        .await;
    assert!(page.body.contains("Invalid token"));
    let page = b
        .post_follow(
            "/reset-password",
            &[
                ("token", &token),
                ("new_password", "brandnew123"),
                ("confirm_password", "brandnew123"),
            ],
        )
        .await;
    assert!(page.body.contains("Password updated successfully"));
    assert!(
        b.log_in("new@example.com", "brandnew123")
            .await
            .body
            .contains("Hi, New")
    );
}

#[tokio::test]
async fn settings_update_profile_password_theme_and_delete_account() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.log_in(USER, PASSWORD).await;
    b.get("/settings").await;
    let page = b
        .post(
            "/settings/profile",
            &[("full_name", "Someone"), ("email", ADMIN)],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("User with this email already exists"));
    let page = b
        .post_follow(
            "/settings/profile",
            &[("full_name", "Uma User"), ("email", "uma@example.com")],
        )
        .await;
    assert!(page.body.contains("User updated successfully."));
    assert!(page.body.contains("value=\"Uma User\""));

    let page = b
        .post(
            "/settings/password",
            &[
                ("current_password", "nope-nope"),
                ("new_password", "another123"),
                ("confirm_password", "another123"),
            ],
        )
        .await;
    assert!(page.body.contains("Incorrect password"));
    let page = b
        .post_follow(
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another123"),
                ("confirm_password", "another123"),
            ],
        )
        .await;
    assert!(page.body.contains("Password updated successfully"));

    let page = b
        .post(
            "/appearance",
            &[("theme", "dark"), ("back", "/settings/appearance")],
        )
        .await;
    assert_eq!(page.location(), "/settings/appearance");
    assert!(
        page.set_cookie(userhub_web::THEME_COOKIE)
            .unwrap()
            .starts_with("userhub_theme=dark;")
    );
    let page = b.get("/settings/appearance").await;
    assert!(page.body.contains("data-theme=\"dark\""));
    assert!(page.body.contains("value=\"dark\" checked"));
    assert_eq!(
        b.post(
            "/appearance",
            &[("theme", "dark"), ("back", "https://evil.example/")]
        )
        .await
        .location(),
        "/"
    );
    assert_eq!(
        b.post("/appearance", &[("theme", "neon"), ("back", "/")])
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    b.get("/settings/delete-account").await;
    let page = b.post_follow("/settings/delete-account", &[]).await;
    assert!(page.body.contains("Your account has been deleted."));
    assert_eq!(app.users().await, 1);
    assert_eq!(b.get("/").await.location(), "/login");
}

#[tokio::test]
async fn superusers_cannot_delete_their_own_account() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.log_in(ADMIN, PASSWORD).await;
    b.get("/settings/delete-account").await;
    let page = b.post("/settings/delete-account", &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body
            .contains("Super users are not allowed to delete themselves")
    );
    assert_eq!(app.users().await, 2);
}

#[tokio::test]
async fn superusers_manage_users() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.log_in(ADMIN, PASSWORD).await;
    let page = b.get("/admin").await;
    assert!(page.body.contains(USER) && page.body.contains("2 users"));
    b.get("/admin/users/new").await;
    let page = b
        .post_follow(
            "/admin/users",
            &[
                ("email", "third@example.com"),
                ("full_name", "Third"),
                ("password", "thirdpass1"),
                ("confirm_password", "thirdpass1"),
                ("is_active", "true"),
                ("is_superuser", "true"),
            ],
        )
        .await;
    assert!(page.body.contains("User created successfully."));
    let third = app.user("third@example.com").await;
    assert!(third.is_superuser && third.is_active);
    let page = b
        .post(
            "/admin/users",
            &[
                ("email", "third@example.com"),
                ("password", "thirdpass1"),
                ("confirm_password", "thirdpass1"),
            ],
        )
        .await;
    assert!(
        page.body
            .contains("The user with this email already exists in the system.")
    );

    let page = b.get(&format!("/admin/users/{}/edit", third.id)).await;
    assert!(
        page.body
            .contains("id=\"is_superuser\" name=\"is_superuser\" value=\"true\" checked")
    );
    // Unchecked boxes are absent from the form: both flags become false.
    let page = b
        .post_follow(
            &format!("/admin/users/{}", third.id),
            &[
                ("email", "third@example.com"),
                ("full_name", "Third Edited"),
                ("password", ""),
                ("confirm_password", ""),
            ],
        )
        .await;
    assert!(page.body.contains("User updated successfully."));
    let edited = app.user("third@example.com").await;
    assert!(!edited.is_superuser && !edited.is_active);
    assert!(
        matches!(
            app.state
                .hasher
                .verify("thirdpass1", &edited.hashed_password)
                .await,
            Ok(Verification::Valid { .. })
        ),
        "an empty password field keeps the password"
    );

    let page = b.get(&format!("/admin/users/{}/delete", third.id)).await;
    assert!(page.body.contains("third@example.com and all their items"));
    let page = b
        .post_follow(&format!("/admin/users/{}/delete", third.id), &[])
        .await;
    assert!(page.body.contains("User deleted successfully"));
    assert_eq!(app.users().await, 2);
}

#[tokio::test]
async fn api_timeouts_and_outages_become_friendly_pages() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.log_in(USER, PASSWORD).await;
    // The same session, on a UI that waits 200 ms for the API (logging in
    // hashes a password, which may take longer than that).
    b.app = app.web_with(support::settings_with_timeout(Duration::from_millis(200)));
    app.probe.delay(Duration::from_secs(5));
    let page = b.get("/items").await;
    assert_eq!(page.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(page.body.contains("The request took too long"));

    // Split mode with nothing listening on the API port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let state = WebState::over_http(
        WebSettings::for_tests(support::KEY),
        &format!("http://127.0.0.1:{port}"),
    )
    .unwrap();
    let mut b = Browser::new(userhub_web::router(state));
    b.get("/login").await;
    let page = b
        .post("/login", &[("email", USER), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    assert!(page.body.contains("The service is unavailable"));
    assert!(!page.body.contains("127.0.0.1"), "no internals leak");
    assert!(!page.body.to_lowercase().contains("error trying to connect"));
}

#[tokio::test]
async fn split_mode_talks_http_to_the_api() {
    let app = TestApp::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let api = app
        .api
        .clone()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(axum::serve(listener, api).into_future());
    let state = WebState::over_http(
        WebSettings::for_tests(support::KEY),
        &format!("http://{addr}/"),
    )
    .unwrap();
    let mut b = Browser::new(userhub_web::router(state));
    let page = b.log_in(ADMIN, PASSWORD).await;
    assert!(page.body.contains("Hi, Ada Admin"));
    let admin = app.user(ADMIN).await.id;
    assert!(app.probe.seen().iter().any(|h| {
        h.get("authorization")
            .and_then(|a| a.to_str().ok()?.strip_prefix("Bearer "))
            .is_some_and(|token| app.state.tokens.verify_access(token).ok() == Some(admin))
    }));
    server.abort();
}

#[tokio::test]
async fn unknown_paths_get_the_404_page_and_assets_are_cache_busted() {
    let app = TestApp::start().await;
    let state = WebState::in_process(
        WebSettings::for_tests(support::KEY),
        userhub_web::InProcessTransport::new(app.api.clone()),
    );
    let app = userhub_web::router(state.clone()).merge(userhub_web::not_found_router(state));
    let mut b = Browser::new(app);
    b.cookies
        .insert(userhub_web::THEME_COOKIE.into(), "dark".into());
    let page = b.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Page not found"));
    assert!(page.body.contains("data-theme=\"dark\""));
    assert_eq!(page.headers["content-security-policy"], userhub_web::CSP);

    let css = b.get(userhub_web::stylesheet_url()).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    assert_eq!(
        css.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(css.headers["x-content-type-options"], "nosniff");
    assert!(css.body.contains("prefers-color-scheme: dark"));
    assert_eq!(
        b.get("/static/app.css").await.status,
        StatusCode::NOT_FOUND,
        "only hashed names exist"
    );
}

#[tokio::test]
async fn every_page_with_its_css_stays_under_50_kb() {
    let app = TestApp::start().await;
    let mut b = Browser::new(app.web());
    b.log_in(ADMIN, PASSWORD).await;
    b.get("/items/new").await;
    for n in 0..10 {
        let long = "x".repeat(200);
        b.post(
            "/items",
            &[("title", &format!("{n} {long}")), ("description", &long)],
        )
        .await;
    }
    let item = app.items().await[0].id;
    let user = app.user(USER).await.id;
    let css = userhub_web::stylesheet().len();
    let mut anon = Browser::new(app.web());
    for path in [
        "/login",
        "/signup",
        "/recover-password",
        "/reset-password?token=t",
    ] {
        let page = anon.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.body.len() + css < 50 * 1024,
            "{path}: {} bytes",
            page.body.len() + css
        );
    }
    for path in [
        "/".to_owned(),
        "/items".to_owned(),
        "/items/new".to_owned(),
        format!("/items/{item}/edit"),
        format!("/items/{item}/delete"),
        "/settings".to_owned(),
        "/settings/password".to_owned(),
        "/settings/appearance".to_owned(),
        "/settings/danger".to_owned(),
        "/settings/delete-account".to_owned(),
        "/admin".to_owned(),
        "/admin/users/new".to_owned(),
        format!("/admin/users/{user}/edit"),
        format!("/admin/users/{user}/delete"),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.body.len() + css < 50 * 1024,
            "{path}: {} bytes",
            page.body.len() + css
        );
        assert!(page.body.contains("<main id=\"main\""), "{path}");
    }
}
