//! Bad input: always the contract's 4xx shape, never a 500, and nothing written.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::*;

async fn body_validation_reports_every_field(b: Backend) {
    let app = TestApp::start(b).await;
    let users = app.count_users().await;
    let (status, body) = send(app.post("/api/v1/users/signup").json(&json!({}))).await;
    assert_422(status, &body, &[&["body", "email"], &["body", "password"]]);
    assert_eq!(body["detail"][0]["type"], "missing");
    assert_eq!(body["detail"][0]["msg"], "Field required");
    let (status, body) = send(app.post("/api/v1/users/signup").json(
        &json!({ "email": "not-an-email", "password": "short", "full_name": "x".repeat(256) }),
    ))
    .await;
    assert_422(
        status,
        &body,
        &[
            &["body", "email"],
            &["body", "password"],
            &["body", "full_name"],
        ],
    );
    let types: Vec<&str> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["value_error", "string_too_short", "string_too_long"]
    );
    assert_eq!(body["detail"][1]["ctx"]["min_length"], 8);
    let (status, body) = send(
        app.post("/api/v1/users/signup")
            .json(&json!({ "email": 42, "password": ["x"] })),
    )
    .await;
    assert_422(status, &body, &[&["body", "email"], &["body", "password"]]);
    assert_eq!(body["detail"][0]["type"], "string_type");
    let long_email = format!("{}@example.com", "a".repeat(250));
    let (status, body) = send(
        app.post("/api/v1/users/signup")
            .json(&json!({ "email": long_email, "password": "password123" })),
    )
    .await;
    assert_422(status, &body, &[&["body", "email"]]);
    assert_eq!(
        app.count_users().await,
        users,
        "failed requests write nothing"
    );
}

async fn malformed_bodies(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, _, token, _) = app.new_user("bad").await;
    let auth = bearer(&token);
    let items = app.count_items().await;
    let (status, body) = send(
        app.post("/api/v1/items/")
            .header("Authorization", &auth)
            .header("content-type", "application/json")
            .body("{\"title\": "),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    assert_eq!(body["detail"][0]["loc"][0], "body");
    assert!(body["detail"][0]["loc"][1].is_u64(), "{body}");
    for raw in ["[]", "\"title\"", "null", "42"] {
        let (status, body) = send(
            app.post("/api/v1/items/")
                .header("Authorization", &auth)
                .header("content-type", "application/json")
                .body(raw),
        )
        .await;
        assert_422(status, &body, &[&["body"]]);
    }
    let (status, body) = send(
        app.post("/api/v1/items/")
            .header("Authorization", &auth)
            .header("content-type", "text/plain")
            .body("title=x"),
    )
    .await;
    assert_422(status, &body, &[&["body"]]);
    assert_eq!(body["detail"][0]["type"], "model_attributes_type");
    let (status, body) = send(app.post("/api/v1/items/").header("Authorization", &auth)).await;
    assert_422(status, &body, &[&["body"]]);
    assert_eq!(body["detail"][0]["type"], "missing");
    for bad in [
        json!({ "title": "" }),
        json!({ "title": "x".repeat(256) }),
        json!({ "title": "nul\u{0}byte" }),
        json!({ "title": "ok", "description": "d".repeat(256) }),
        json!({ "title": null }),
    ] {
        let (status, body) = send(
            app.post("/api/v1/items/")
                .header("Authorization", &auth)
                .json(&bad),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad} -> {body}");
    }
    let huge = json!({ "title": "x", "description": "y".repeat(2 * 1024 * 1024) });
    let (status, body) = send(
        app.post("/api/v1/items/")
            .header("Authorization", &auth)
            .json(&huge),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["detail"].is_string());
    assert_eq!(
        app.count_items().await,
        items,
        "failed requests write nothing"
    );
}

async fn path_ids_must_be_uuids(b: Backend) {
    let app = TestApp::start(b).await;
    let admin = bearer(&app.admin_token().await);
    for (path, loc) in [
        ("/api/v1/items/not-a-uuid", "id"),
        ("/api/v1/users/123", "user_id"),
        ("/api/v1/items/%27%20OR%201=1--", "id"),
    ] {
        let (status, body) = send(app.get(path).header("Authorization", &admin)).await;
        assert_422(status, &body, &[&["path", loc]]);
        assert_eq!(body["detail"][0]["type"], "uuid_parsing");
    }
}

async fn unknown_routes_and_methods(b: Backend) {
    let app = TestApp::start(b).await;
    let (status, body) = send(app.get("/api/v1/nope")).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({ "detail": "Not Found" }))
    );
    let (status, body) = send(app.put("/api/v1/utils/health-check/")).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({ "detail": "Method Not Allowed" })
        )
    );
}

async fn trailing_slash_is_optional(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, _, token, _) = app.new_user("slash").await;
    for path in [
        "/api/v1/items",
        "/api/v1/items/",
        "/api/v1/users/me",
        "/api/v1/users/me/",
    ] {
        let res = app
            .get(path)
            .header("Authorization", bearer(&token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    for path in ["/api/v1/utils/health-check", "/api/v1/utils/health-check/"] {
        let (status, body) = send(app.get(path)).await;
        assert_eq!((status, body), (StatusCode::OK, json!(true)));
    }
}

on_both_backends!(
    body_validation_reports_every_field,
    malformed_bodies,
    path_ids_must_be_uuids,
    unknown_routes_and_methods,
    trailing_slash_is_optional
);
