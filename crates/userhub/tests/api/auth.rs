//! Login, tokens and the authentication errors of the contract.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::*;

/// Minted by the reference's PyJWT with SECRET_KEY: sub is a user id that
/// does not exist, exp is in 2100.
const REFERENCE_ACCESS_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjQxMDI0NDQ4MDAsInN1YiI6IjVhM2Q2YTJlLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMSJ9.ObjOEBXhrasRny4KpbV14hWqnSQkeCHgPiGKyNTO5HE";
const REFERENCE_EXPIRED_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDAwMDAsInN1YiI6IjVhM2Q2YTJlLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMSJ9.R6IpA3AKaYhFSkAtTyBc_8bIZFUgTShuEAt231Owd1k";

async fn login_and_test_token(b: Backend) {
    let app = TestApp::start(b).await;
    let token = app.admin_token().await;
    let (status, me) = send(
        app.post("/api/v1/login/test-token")
            .header("Authorization", bearer(&token)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["is_superuser"], true);
    let keys: Vec<&str> = me.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 6, "UserPublic has exactly its six fields: {me}");
    assert!(me.get("hashed_password").is_none());
    // Case-insensitive email at login, extra OAuth2 fields ignored.
    let res = app
        .post("/api/v1/login/access-token")
        .form(&[
            ("username", "ADMIN@Example.com"),
            ("password", ADMIN_PASSWORD),
            ("grant_type", "password"),
            ("scope", ""),
            ("client_id", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn wrong_credentials(b: Backend) {
    let app = TestApp::start(b).await;
    for (user, pass) in [
        (ADMIN_EMAIL, "wrong-password"),
        ("nobody@example.com", ADMIN_PASSWORD),
        ("not an email", "x"),
        ("a\u{0}b@example.com", "x"),
    ] {
        let res = app.try_login(user, pass).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({ "detail": "Incorrect email or password" })
        );
    }
    let (status, body) = send(
        app.post("/api/v1/login/access-token")
            .form(&[("username", ADMIN_EMAIL)]),
    )
    .await;
    assert_422(status, &body, &[&["body", "password"]]);
}

async fn inactive_user_cannot_log_in_or_use_tokens(b: Backend) {
    let app = TestApp::start(b).await;
    let admin = app.admin_token().await;
    let (email, password, token, id) = app.new_user("inactive").await;
    let (status, _) = send(
        app.patch(&format!("/api/v1/users/{id}"))
            .header("Authorization", bearer(&admin))
            .json(&json!({ "is_active": false })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let res = app.try_login(&email, &password).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json::<Value>().await.unwrap()["detail"],
        "Inactive user"
    );
    let (status, body) = send(
        app.get("/api/v1/users/me")
            .header("Authorization", bearer(&token)),
    )
    .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Inactive user"))
    );
}

async fn missing_and_invalid_credentials(b: Backend) {
    let app = TestApp::start(b).await;
    for header in [
        None,
        Some("Basic abc"),
        Some("Bearer"),
        Some("Bearer   "),
        Some("Token x"),
    ] {
        let mut req = app.get("/api/v1/users/me");
        if let Some(h) = header {
            req = req.header("Authorization", h);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            res.json::<Value>().await.unwrap()["detail"],
            "Not authenticated"
        );
    }
    let reset_token = app.app_state.tokens.issue_reset(ADMIN_EMAIL);
    let forged = {
        let t = app.admin_token().await;
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        parts[2] = "AAAA".repeat(10);
        parts.join(".")
    };
    for token in [
        "garbage",
        "a.b.c",
        REFERENCE_EXPIRED_TOKEN,
        reset_token.as_str(),
        forged.as_str(),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    ] {
        let res = app
            .get("/api/v1/items/")
            .header("Authorization", bearer(token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(
            res.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#
        );
        assert_eq!(
            res.json::<Value>().await.unwrap()["detail"],
            "Could not validate credentials"
        );
    }
}

async fn reference_token_for_missing_user_is_404(b: Backend) {
    let app = TestApp::start(b).await;
    let (status, body) = send(
        app.get("/api/v1/users/me")
            .header("Authorization", bearer(REFERENCE_ACCESS_TOKEN)),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({ "detail": "User not found" }))
    );
}

async fn deleted_user_token_is_404(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, _, token, _) = app.new_user("gone").await;
    let (status, _) = send(
        app.delete("/api/v1/users/me")
            .header("Authorization", bearer(&token)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(
        app.get("/api/v1/users/me")
            .header("Authorization", bearer(&token)),
    )
    .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (StatusCode::NOT_FOUND, Some("User not found"))
    );
}

async fn superuser_routes_refuse_normal_users(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, _, token, _) = app.new_user("normal").await;
    let forbidden = json!({ "detail": "The user doesn't have enough privileges" });
    for req in [
        app.get("/api/v1/users/"),
        app.post("/api/v1/users/")
            .json(&json!({ "email": "x@example.com", "password": "password123" })),
        app.patch(&format!("/api/v1/users/{}", uuid::Uuid::new_v4()))
            .json(&json!({})),
        app.delete(&format!("/api/v1/users/{}", uuid::Uuid::new_v4())),
        app.post("/api/v1/utils/test-email/?email_to=x@example.com"),
        app.post("/api/v1/password-recovery-html-content/x@example.com"),
    ] {
        let (status, body) = send(req.header("Authorization", bearer(&token))).await;
        assert_eq!((status, body), (StatusCode::FORBIDDEN, forbidden.clone()));
    }
}

on_both_backends!(
    login_and_test_token,
    wrong_credentials,
    inactive_user_cannot_log_in_or_use_tokens,
    missing_and_invalid_credentials,
    reference_token_for_missing_user_is_404,
    deleted_user_token_is_404,
    superuser_routes_refuse_normal_users,
);
