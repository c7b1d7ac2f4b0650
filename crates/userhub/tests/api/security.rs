//! Issue 9's authentication hardening, over HTTP against the real server:
//! the lockout under concurrency, one canonical email, homoglyphs, reset
//! tokens that are single-use and bound to the account, revocation, signup
//! throttling and key rotation.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::*;

/// An HS256 token with exactly `claims`, as the reference's PyJWT mints it.
pub fn reference_token(key: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

async fn signup(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    send(
        app.post("/api/v1/users/signup")
            .json(&json!({ "email": email, "password": password })),
    )
    .await
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v1/users/me")
        .header("Authorization", bearer(token))
        .send()
        .await
        .unwrap()
        .status()
}

/// 49 wrong passwords and the right one, all at once: no more than the
/// limit are checked, and the right one does not clear the count.
async fn concurrent_burst_cannot_exceed_the_lockout(b: Backend) {
    let app = TestApp::builder(b)
        .env("USERHUB_LOGIN_MAX_FAILURES", "10")
        .start()
        .await;
    let (email, password, ..) = app.new_user("burst").await;
    let attempts = (0..50).map(|i| {
        let pw = if i == 25 {
            password.clone()
        } else {
            format!("wrong-password-{i}")
        };
        let email = email.clone();
        let app = &app;
        async move { app.try_login(&email, &pw).await.status() }
    });
    let statuses = join_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST || **s == StatusCode::OK)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        checked <= 10,
        "{checked} passwords were checked: {statuses:?}"
    );
    assert_eq!(checked + limited, 50, "{statuses:?}");
    assert_eq!(
        app.try_login(&email, &password).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the account stays locked after the burst"
    );
}

/// Case and compatibility variants of an email are one account with one
/// lockout on both databases; a dotted capital I is another address.
async fn one_canonical_email_for_lookup_uniqueness_and_lockout(b: Backend) {
    let app = TestApp::builder(b)
        .env("USERHUB_LOGIN_MAX_FAILURES", "3")
        .start()
        .await;
    let local = unique("josé");
    let email = format!("{local}@example.com");
    let (status, body) = signup(&app, &email, "user-password-123").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Unicode uppercase logs in (SQLite's lower() is ASCII-only).
    app.login(&email.to_uppercase(), "user-password-123").await;
    // Unicode case variants are the same address for uniqueness, and a
    // decomposed é the same for login.
    let decomposed = email.replace('é', "e\u{301}");
    let (status, body) = signup(&app, &email.to_uppercase(), "user-password-123").await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("The user with this email already exists in the system")
        )
    );
    app.login(&decomposed, "user-password-123").await;

    // The lockout follows the account, whatever spelling is used.
    for variant in [email.to_uppercase(), decomposed.clone(), email.clone()] {
        assert_eq!(
            app.try_login(&variant, "wrong-password").await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    for variant in [email.clone(), email.to_uppercase(), decomposed] {
        assert_eq!(
            app.try_login(&variant, "user-password-123").await.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{variant}"
        );
    }

    // U+0130 (İ) lowercases to i + combining dot in Rust: not `victim`,
    // so it can neither bypass the lockout nor log into the account.
    let victim = format!("{}@example.com", unique("victim"));
    signup(&app, &victim, "victim-password-1").await;
    for _ in 0..3 {
        app.try_login(&victim, "wrong-password").await;
    }
    let dotted = victim.replacen('i', "\u{130}", 1);
    assert_eq!(
        app.try_login(&dotted, "victim-password-1").await.status(),
        StatusCode::BAD_REQUEST,
        "a dotted capital I is another address"
    );
    assert_eq!(
        app.try_login(&victim, "victim-password-1").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A Cyrillic `а` among Latin letters is refused with the contract's 422.
async fn mixed_script_emails_are_refused(b: Backend) {
    let app = TestApp::start(b).await;
    let local = unique("casey");
    let latin = format!("{local}@example.com");
    let homoglyph = latin.replacen('a', "\u{430}", 1);
    let (status, body) = signup(&app, &homoglyph, "user-password-123").await;
    assert_422(status, &body, &[&["body", "email"]]);
    assert!(
        body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("different scripts"),
        "{body}"
    );
    let (status, _) = signup(&app, &latin, "user-password-123").await;
    assert_eq!(status, StatusCode::OK);
    let token = app.login(&latin, "user-password-123").await;
    let (status, body) = send(
        app.patch("/api/v1/users/me")
            .header("Authorization", bearer(&token))
            .json(&json!({ "email": homoglyph })),
    )
    .await;
    assert_422(status, &body, &[&["body", "email"]]);
    // An address in one other script is fine.
    let (status, _) = signup(
        &app,
        "\u{430}\u{43d}\u{43d}\u{430}@example.com",
        "user-password-123",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn reset(app: &TestApp, token: &str, password: &str) -> (StatusCode, Value) {
    send(
        app.post("/api/v1/reset-password/")
            .json(&json!({ "token": token, "new_password": password })),
    )
    .await
}

fn invalid_token() -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        json!({ "detail": "Invalid token" }),
    )
}

/// Reset tokens work once, die with a password change and do not follow
/// an email to its next owner; the reference's own tokens obey the same.
async fn reset_tokens_are_single_use_and_bound_to_the_account(b: Backend) {
    let app = TestApp::start(b).await;
    let (email, _, _, id) = app.new_user("resetter").await;

    let reset_token = app.app_state.tokens.issue_reset(&email);
    assert_eq!(
        reset(&app, &reset_token, "first-new-pass").await.0,
        StatusCode::OK
    );
    assert_eq!(
        reset(&app, &reset_token, "second-new-pass").await,
        invalid_token()
    );
    app.login(&email, "first-new-pass").await;

    // Minted by the reference (integer nbf, no iat) in the same second as
    // the account or later: accepted once.
    let now = now_secs();
    let theirs = reference_token(
        SECRET_KEY,
        &json!({ "exp": now as f64 + 3600.5, "nbf": now + 1, "sub": email }),
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        reset(&app, &theirs, "reference-new-pass").await.0,
        StatusCode::OK
    );
    assert_eq!(
        reset(&app, &theirs, "again-new-pass").await,
        invalid_token()
    );

    // A token minted before a password change is void.
    let before_change = app.app_state.tokens.issue_reset(&email);
    let token = app.login(&email, "reference-new-pass").await;
    let (status, _) = send(
        app.patch("/api/v1/users/me/password")
            .header("Authorization", bearer(&token))
            .json(&json!({ "current_password": "reference-new-pass", "new_password": "changed-pass-1" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        reset(&app, &before_change, "hijacked-pass").await,
        invalid_token()
    );

    // The email changes hands: the old owner's token does not reset the
    // new owner's password.
    let for_old_owner = app.app_state.tokens.issue_reset(&email);
    let (status, _) = send(
        app.delete("/api/v1/users/me")
            .header("Authorization", bearer(&token)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let _ = id;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = signup(&app, &email, "new-owner-pass-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        reset(&app, &for_old_owner, "hijacked-pass").await,
        invalid_token()
    );
    app.login(&email, "new-owner-pass-1").await;

    // Moved by PATCH to an older account: still void.
    let (other_email, other_pw, other_token, _) = app.new_user("older").await;
    let for_email = app.app_state.tokens.issue_reset(&email);
    let new_owner = app.login(&email, "new-owner-pass-1").await;
    let (status, _) = send(
        app.patch("/api/v1/users/me")
            .header("Authorization", bearer(&new_owner))
            .json(&json!({ "email": format!("moved-{email}") })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        app.patch("/api/v1/users/me")
            .header("Authorization", bearer(&other_token))
            .json(&json!({ "email": email })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        reset(&app, &for_email, "hijacked-pass").await,
        invalid_token()
    );
    app.login(&email, &other_pw).await;
    let _ = other_email;
}

/// A reset revokes every access token; a change every token but the one
/// that made it; logout the token it is called with. Reference-minted
/// tokens (exp and sub only) follow the same rules.
async fn access_tokens_are_revoked(b: Backend) {
    let app = TestApp::start(b).await;
    let (email, password, first, id) = app.new_user("revoked").await;
    let second = app.login(&email, &password).await;
    let ttl_secs = 11_520 * 60;
    let reference_before = reference_token(
        SECRET_KEY,
        &json!({ "exp": now_secs() + ttl_secs - 5, "sub": id }),
    );
    assert_eq!(me_status(&app, &reference_before).await, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let (status, _) = send(
        app.patch("/api/v1/users/me/password")
            .header("Authorization", bearer(&first))
            .json(&json!({ "current_password": password, "new_password": "changed-pass-1" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me_status(&app, &first).await,
        StatusCode::OK,
        "the token that changed it"
    );
    for old in [&second, &reference_before] {
        let res = app
            .get("/api/v1/users/me")
            .header("Authorization", bearer(old))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#
        );
    }
    let third = app.login(&email, "changed-pass-1").await;
    assert_eq!(
        me_status(&app, &third).await,
        StatusCode::OK,
        "new tokens work at once"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let reference_after = reference_token(
        SECRET_KEY,
        &json!({ "exp": now_secs() + ttl_secs, "sub": id }),
    );
    assert_eq!(me_status(&app, &reference_after).await, StatusCode::OK);

    // Logout revokes exactly the token it is called with.
    let (status, _) = send(
        app.post("/api/v1/logout")
            .header("Authorization", bearer(&third)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me_status(&app, &third).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&app, &first).await, StatusCode::OK);

    // A reset revokes everything, the exempted token included.
    let reset_token = app.app_state.tokens.issue_reset(&email);
    assert_eq!(
        reset(&app, &reset_token, "after-reset-1").await.0,
        StatusCode::OK
    );
    for old in [&first, &reference_after] {
        assert_eq!(me_status(&app, old).await, StatusCode::UNAUTHORIZED);
    }
    let fresh = app.login(&email, "after-reset-1").await;
    assert_eq!(me_status(&app, &fresh).await, StatusCode::OK);

    // An administrator setting the password revokes the user's tokens.
    let admin = app.admin_token().await;
    let (status, _) = send(
        app.patch(&format!("/api/v1/users/{id}"))
            .header("Authorization", bearer(&admin))
            .json(&json!({ "password": "set-by-admin-1" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me_status(&app, &fresh).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&app, &admin).await, StatusCode::OK);
}

/// Signup spends the same per-IP bucket as login.
async fn signup_is_throttled_per_ip(b: Backend) {
    let app = TestApp::builder(b)
        .env("USERHUB_IP_BURST", "3")
        .env("USERHUB_IP_REFILL_PER_SECOND", "0.01")
        .start()
        .await;
    for i in 0..3 {
        let email = format!("{}@example.com", unique(&format!("spam{i}")));
        let (status, body) = signup(&app, &email, "user-password-123").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let res = app
        .post("/api/v1/users/signup")
        .json(&json!({ "email": "late@example.com", "password": "user-password-123" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "detail": "Too many requests" })
    );
    let before = app.count_users().await;
    assert_eq!(before, 4, "the throttled signup wrote nothing");
}

/// A new signing key with the old one listed as previous keeps sessions;
/// without it the old tokens are refused.
async fn previous_keys_keep_tokens_valid_through_rotation(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(b, dir.path()).await;
    let old = TestApp::builder(b).database_url(&url).start().await;
    let (email, password, token, _) = old.new_user("rotated").await;
    drop(old);
    let new_key = "rotated-signing-key-0123456789abcdef-new";
    let rotated = TestApp::builder(b)
        .database_url(&url)
        .env("SECRET_KEY", new_key)
        .env("SECRET_KEYS_PREVIOUS", SECRET_KEY)
        .start()
        .await;
    assert_eq!(me_status(&rotated, &token).await, StatusCode::OK);
    let fresh = rotated.login(&email, &password).await;
    drop(rotated);
    let only_new = TestApp::builder(b)
        .database_url(&url)
        .env("SECRET_KEY", new_key)
        .start()
        .await;
    assert_eq!(me_status(&only_new, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&only_new, &fresh).await, StatusCode::OK);
}

on_both_backends!(
    concurrent_burst_cannot_exceed_the_lockout,
    one_canonical_email_for_lookup_uniqueness_and_lockout,
    mixed_script_emails_are_refused,
    reset_tokens_are_single_use_and_bound_to_the_account,
    access_tokens_are_revoked,
    signup_is_throttled_per_ip,
    previous_keys_keep_tokens_valid_through_rotation,
);

fn userhub_cli() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_userhub"));
    for (key, _) in std::env::vars() {
        if [
            "SECRET_KEY",
            "SECRET_KEYS_PREVIOUS",
            "DATABASE_URL",
            "ENVIRONMENT",
            "FASTAPI_ENV",
        ]
        .contains(&key.as_str())
            || key.starts_with("USERHUB_")
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn short_signing_keys_are_refused_outside_development() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [("SECRET_KEY", "a"), ("SECRET_KEYS_PREVIOUS", "old")] {
        let mut cmd = userhub_cli();
        cmd.arg("api")
            .current_dir(dir.path())
            .env("ENVIRONMENT", "production")
            .env("SECRET_KEY", "a-long-enough-production-key-0123456789");
        let out = cmd.env(var, value).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(var) && stderr.contains("32 bytes"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn serve_refuses_a_placeholder_key_on_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    for key in ["changethis", "changeme"] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = userhub_cli()
            .arg("serve")
            .current_dir(dir.path())
            .env("SECRET_KEY", key)
            .env("USERHUB_BIND", format!("0.0.0.0:{port}"))
            .env("USERHUB_ADMIN_BIND", "127.0.0.1:0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{key}: serve must refuse to start"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("SECRET_KEY") && stderr.contains("placeholder"),
            "{stderr}"
        );
    }
}
