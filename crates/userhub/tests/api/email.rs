//! Password recovery, reset and test emails against a real SMTP sink.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use userhub_testkit::{RejectAt, SmtpSink};

use crate::on_both_backends;
use crate::support::*;

const RECOVERY: &str = "If that email is registered, we sent a password recovery link";

async fn with_sink(b: Backend, sink: &SmtpSink) -> TestApp {
    TestApp::builder(b)
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", &sink.port().to_string())
        .env("SMTP_TLS", "false")
        .env("EMAILS_FROM_EMAIL", "noreply@userhub.test")
        .env("EMAILS_FROM_NAME", "Userhub")
        .start()
        .await
}

fn reset_token_from(body: &str) -> String {
    let unfolded = body.replace("=\r\n", "").replace("=3D", "=");
    let start = unfolded
        .find("reset-password?token=")
        .expect("link in the email")
        + "reset-password?token=".len();
    unfolded[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect()
}

async fn recovery_email_and_reset(b: Backend) {
    let sink = SmtpSink::start().await.unwrap();
    let app = with_sink(b, &sink).await;
    let (email, _, _, _) = app.new_user("forgetful").await;
    let (status, body) = send(app.post(&format!(
        "/api/v1/password-recovery/{}",
        email.to_uppercase()
    )))
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "message": RECOVERY }))
    );
    let (status, body) = send(app.post("/api/v1/password-recovery/unknown@example.com")).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "message": RECOVERY })),
        "same answer for unknown emails"
    );
    let messages = sink
        .wait_for(1, Duration::from_secs(10))
        .await
        .expect("one recovery email");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sink.messages().len(),
        1,
        "nothing is sent for unknown emails"
    );
    let message = &messages[0];
    assert_eq!(message.to, vec![email.clone()]);
    let data = message.data_str();
    assert!(
        data.contains("multipart/alternative"),
        "text and HTML parts"
    );
    assert!(data.contains("Password recovery for user"), "{data}");
    assert!(data.contains("http://frontend.test/reset-password?token="));
    let token = reset_token_from(&data);

    let (status, body) = send(
        app.post("/api/v1/reset-password/")
            .json(&json!({ "token": "nonsense", "new_password": "brand-new-pass" })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "detail": "Invalid token" })
        )
    );
    let (status, body) = send(
        app.post("/api/v1/reset-password/")
            .json(&json!({ "token": token, "new_password": "brand-new-pass" })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "message": "Password updated successfully" })
        )
    );
    app.login(&email, "brand-new-pass").await;
    // A token for an email nobody has.
    let orphan = app.app_state.tokens.issue_reset("nobody@example.com");
    let (status, body) = send(
        app.post("/api/v1/reset-password")
            .json(&json!({ "token": orphan, "new_password": "brand-new-pass" })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "detail": "Invalid token" })
        )
    );
}

/// One inbox gets at most the configured number of recovery emails, and
/// the answer stays the same for throttled, known and unknown addresses.
async fn recovery_emails_are_throttled_per_recipient(b: Backend) {
    let sink = SmtpSink::start().await.unwrap();
    let app = TestApp::builder(b)
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", &sink.port().to_string())
        .env("SMTP_TLS", "false")
        .env("EMAILS_FROM_EMAIL", "noreply@userhub.test")
        .env("USERHUB_RECOVERY_EMAILS_PER_HOUR", "2")
        .start()
        .await;
    let (email, ..) = app.new_user("flooded").await;
    for i in 0..8 {
        let target = if i % 2 == 0 {
            email.clone()
        } else {
            email.to_uppercase()
        };
        let (status, body) = send(app.post(&format!("/api/v1/password-recovery/{target}"))).await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!({ "message": RECOVERY }))
        );
    }
    for _ in 0..3 {
        let (status, body) =
            send(app.post("/api/v1/password-recovery/nobody-here@example.com")).await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!({ "message": RECOVERY }))
        );
    }
    sink.wait_for(2, Duration::from_secs(10))
        .await
        .expect("two recovery emails");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 2, "the rest were throttled");
}

async fn recovery_without_mail_still_answers(b: Backend) {
    let app = TestApp::start(b).await;
    let (status, body) = send(app.post(&format!("/api/v1/password-recovery/{ADMIN_EMAIL}"))).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "message": RECOVERY }))
    );
    let (status, body) = send(app.post("/api/v1/password-recovery/%00weird")).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "message": RECOVERY }))
    );
}

async fn recovery_html_content(b: Backend) {
    let app = TestApp::start(b).await;
    let admin = bearer(&app.admin_token().await);
    let res = app
        .post(&format!(
            "/api/v1/password-recovery-html-content/{ADMIN_EMAIL}"
        ))
        .header("Authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(
        res.headers()["subject"],
        format!("Userhub - Password recovery for user {ADMIN_EMAIL}").as_str()
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("http://frontend.test/reset-password?token="));
    let (status, body) = send(
        app.post("/api/v1/password-recovery-html-content/nobody@example.com")
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "detail": "The user with this username does not exist in the system." })
        )
    );
}

async fn test_email_outcomes(b: Backend) {
    let app = TestApp::start(b).await;
    let admin = bearer(&app.admin_token().await);
    let (status, body) = send(
        app.post("/api/v1/utils/test-email/?email_to=someone@example.com")
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "detail": "Email is not configured" })
        )
    );
    let (status, body) = send(
        app.post("/api/v1/utils/test-email/?email_to=nope")
            .header("Authorization", &admin),
    )
    .await;
    assert_422(status, &body, &[&["query", "email_to"]]);
    let (status, body) = send(
        app.post("/api/v1/utils/test-email/")
            .header("Authorization", &admin),
    )
    .await;
    assert_422(status, &body, &[&["query", "email_to"]]);

    let sink = SmtpSink::start().await.unwrap();
    let app = with_sink(b, &sink).await;
    let admin = bearer(&app.admin_token().await);
    let (status, body) = send(
        app.post("/api/v1/utils/test-email/?email_to=someone@example.com")
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::CREATED, json!({ "message": "Test email sent" }))
    );
    assert_eq!(
        sink.messages()[0].to,
        vec!["someone@example.com".to_owned()]
    );

    let refusing = SmtpSink::start_rejecting(RejectAt::Rcpt).await.unwrap();
    let app = with_sink(b, &refusing).await;
    let admin = bearer(&app.admin_token().await);
    let (status, body) = send(
        app.post("/api/v1/utils/test-email/?email_to=someone@example.com")
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_GATEWAY,
            json!({ "detail": "Email could not be sent" })
        )
    );
}

async fn new_account_email_has_no_password(b: Backend) {
    let sink = SmtpSink::start().await.unwrap();
    let app = with_sink(b, &sink).await;
    let admin = bearer(&app.admin_token().await);
    let (status, _) = send(
        app.post("/api/v1/users/")
            .header("Authorization", &admin)
            .json(&json!({ "email": "welcome@example.com", "password": "secret-pass-42" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let messages = sink
        .wait_for(1, Duration::from_secs(10))
        .await
        .expect("new account email");
    let data = messages[0].data_str();
    assert!(data.contains("New account for user welcome@example.com"));
    assert!(
        !data.contains("secret-pass-42"),
        "the password is never emailed"
    );
}

/// Without `EMAILS_FROM_NAME`, the sender's display name is
/// `PROJECT_NAME`, as in the reference.
async fn from_header_carries_the_project_name(b: Backend) {
    let sink = SmtpSink::start().await.unwrap();
    let app = TestApp::builder(b)
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", &sink.port().to_string())
        .env("SMTP_TLS", "false")
        .env("EMAILS_FROM_EMAIL", "noreply@userhub.test")
        .env("PROJECT_NAME", "Acme Hub")
        .start()
        .await;
    let admin = bearer(&app.admin_token().await);
    let (status, _) = send(
        app.post("/api/v1/utils/test-email/?email_to=someone@example.com")
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let messages = sink
        .wait_for(1, Duration::from_secs(10))
        .await
        .expect("the test email");
    let data = messages[0].data_str();
    let from = data
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("from:"))
        .unwrap_or_else(|| panic!("no From header: {data}"));
    assert!(
        from.contains("Acme Hub") && from.contains("<noreply@userhub.test>"),
        "{from}"
    );
}

on_both_backends!(
    from_header_carries_the_project_name,
    recovery_email_and_reset,
    recovery_emails_are_throttled_per_recipient,
    recovery_without_mail_still_answers,
    recovery_html_content,
    test_email_outcomes,
    new_account_email_has_no_password
);
