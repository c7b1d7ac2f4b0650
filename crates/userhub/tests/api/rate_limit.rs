//! Login and password-recovery throttling (429 with Retry-After).

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::*;

async fn account_lockout_after_failures(b: Backend) {
    let app = TestApp::builder(b)
        .env("USERHUB_LOGIN_MAX_FAILURES", "3")
        .start()
        .await;
    let (email, password, ..) = app.new_user("locked").await;
    assert_eq!(
        app.try_login(&email, "wrong-password").await.status(),
        StatusCode::BAD_REQUEST
    );
    // A success below the limit, with no attempt since, clears the count.
    app.login(&email, &password).await;
    for _ in 0..3 {
        assert_eq!(
            app.try_login(&email, "wrong-password").await.status(),
            StatusCode::BAD_REQUEST,
            "success cleared the count"
        );
    }
    for pw in ["wrong-password", password.as_str()] {
        let res = app.try_login(&email.to_uppercase(), pw).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap(),
            json!({ "detail": "Too many requests" })
        );
    }
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

async fn per_ip_bucket(b: Backend) {
    let app = TestApp::builder(b)
        .env("USERHUB_IP_BURST", "4")
        .env("USERHUB_IP_REFILL_PER_SECOND", "0.01")
        .start()
        .await;
    for _ in 0..3 {
        assert_eq!(
            app.try_login("nobody@example.com", "whatever1")
                .await
                .status(),
            StatusCode::BAD_REQUEST
        );
    }
    let (status, _) = send(app.post("/api/v1/password-recovery/nobody@example.com")).await;
    assert_eq!(status, StatusCode::OK);
    let res = app
        .post("/api/v1/password-recovery/nobody@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        app.try_login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let (status, _) = send(app.get("/api/v1/utils/health-check/")).await;
    assert_eq!(status, StatusCode::OK, "other routes are not throttled");
}

on_both_backends!(account_lockout_after_failures, per_ip_bucket);
