//! Places where the OpenAPI document and the behaviour must both match the
//! reference: the health check's media type, `UserCreate`'s defaulted
//! booleans, and `PrivateUserCreate`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::*;

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

fn required(schema: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    names.sort_unstable();
    names
}

async fn health_check_is_json_in_schema_and_on_the_wire(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, doc) = send(app.get("/api/v1/openapi.json")).await;
    let content =
        &doc["paths"]["/api/v1/utils/health-check/"]["get"]["responses"]["200"]["content"];
    assert!(content.get("application/json").is_some(), "{content}");
    assert!(content.get("text/plain").is_none(), "{content}");
    assert_eq!(content["application/json"]["schema"]["type"], "boolean");
    let res = app.get("/api/v1/utils/health-check/").send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.json::<Value>().await.unwrap(), json!(true));
}

async fn user_create_booleans_are_optional_but_not_nullable(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, doc) = send(app.get("/api/v1/openapi.json")).await;
    let user_create = schema(&doc, "UserCreate");
    assert_eq!(
        required(user_create),
        ["email", "password"],
        "{user_create}"
    );
    let props = &user_create["properties"];
    assert_eq!(props["is_active"]["default"], json!(true));
    assert_eq!(props["is_superuser"]["default"], json!(false));
    assert_eq!(props["is_active"]["type"], "boolean", "not nullable");

    let admin = bearer(&app.admin_token().await);
    for field in ["is_active", "is_superuser"] {
        let (status, body) = send(
            app.post("/api/v1/users/")
                .header("Authorization", &admin)
                .json(&json!({ "email": format!("{field}@example.com"), "password": "password123", field: null })),
        )
        .await;
        assert_422(status, &body, &[&["body", field]]);
        assert_eq!(body["detail"][0]["type"], "bool_type", "{body}");
    }
    assert_eq!(app.count_users().await, 1, "nothing was written");
    let (status, user) = send(
        app.post("/api/v1/users/")
            .header("Authorization", &admin)
            .json(&json!({ "email": "defaults@example.com", "password": "password123" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (user["is_active"].as_bool(), user["is_superuser"].as_bool()),
        (Some(true), Some(false))
    );
}

async fn private_user_create_schema_matches_behaviour(b: Backend) {
    let dev = TestApp::builder(b)
        .env("ENVIRONMENT", "development")
        .start()
        .await;
    let (_, doc) = send(dev.get("/api/v1/openapi.json")).await;
    let private = schema(&doc, "PrivateUserCreate");
    assert_eq!(
        required(private),
        ["email", "full_name", "password"],
        "{private}"
    );
    let props = &private["properties"];
    assert_eq!(props["is_verified"]["default"], json!(false));
    assert_eq!(props["password"]["minLength"], json!(8));
    assert_eq!(props["password"]["maxLength"], json!(128));
    assert_eq!(props["full_name"]["maxLength"], json!(255));
    assert_eq!(props["email"]["format"], "email");

    let (status, body) =
        send(dev.post("/api/v1/private/users/").json(
            &json!({ "email": "short@example.com", "password": "short", "full_name": "Short" }),
        ))
        .await;
    assert_422(status, &body, &[&["body", "password"]]);
    let (status, user) = send(dev.post("/api/v1/private/users/").json(
        &json!({ "email": "verified@example.com", "password": "password123", "full_name": "V", "is_verified": true }),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let (status, body) = send(dev.post("/api/v1/private/users/").json(
        &json!({ "email": "nullv@example.com", "password": "password123", "full_name": "V", "is_verified": null }),
    ))
    .await;
    assert_422(status, &body, &[&["body", "is_verified"]]);
}

/// `UserUpdate` inherits the reference's `is_active: bool = True` and
/// `is_superuser: bool = False`: absent leaves the value alone, `null` is a
/// 422 and writes nothing (it used to be read as "absent").
async fn user_update_booleans_are_optional_but_not_nullable(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, doc) = send(app.get("/api/v1/openapi.json")).await;
    let props = &schema(&doc, "UserUpdate")["properties"];
    assert_eq!(
        props["is_active"]["type"], "boolean",
        "not nullable: {props}"
    );
    assert_eq!(
        props["is_superuser"]["type"], "boolean",
        "not nullable: {props}"
    );

    let admin = bearer(&app.admin_token().await);
    let (_, _, _, id) = app.new_user("nullpatch").await;
    for field in ["is_active", "is_superuser"] {
        let (status, body) = send(
            app.patch(&format!("/api/v1/users/{id}"))
                .header("Authorization", &admin)
                .json(&json!({ "full_name": "Changed", field: null })),
        )
        .await;
        assert_422(status, &body, &[&["body", field]]);
        assert_eq!(body["detail"][0]["type"], "bool_type", "{body}");
    }
    let (status, user) = send(
        app.get(&format!("/api/v1/users/{id}"))
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        user["full_name"],
        Value::Null,
        "a failed request writes nothing"
    );
    let (status, user) = send(
        app.patch(&format!("/api/v1/users/{id}"))
            .header("Authorization", &admin)
            .json(&json!({ "full_name": "Changed" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(
        (user["is_active"].as_bool(), user["is_superuser"].as_bool()),
        (Some(true), Some(false)),
        "absent booleans keep their values"
    );
}

/// PostgreSQL cannot store NUL in text, so names, titles and descriptions
/// refuse it (422) on both databases, and the document says so (a pattern
/// next to the length limits) instead of leaving a schema-valid request to
/// be rejected.
async fn text_fields_declare_that_they_refuse_nul(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, doc) = send(app.get("/api/v1/openapi.json")).await;
    for (name, field) in [
        ("UserCreate", "full_name"),
        ("UserRegister", "full_name"),
        ("UserUpdate", "full_name"),
        ("UserUpdateMe", "full_name"),
        ("ItemCreate", "title"),
        ("ItemCreate", "description"),
        ("ItemUpdate", "title"),
        ("ItemUpdate", "description"),
    ] {
        let props = &schema(&doc, name)["properties"][field];
        assert_eq!(props["pattern"], "^[^\\u0000]*$", "{name}.{field}: {props}");
    }
    let users = app.count_users().await;
    let (status, body) = send(app.post("/api/v1/users/signup").json(
        &json!({ "email": "nul@example.com", "password": "password123", "full_name": "a\u{0}b" }),
    ))
    .await;
    assert_422(status, &body, &[&["body", "full_name"]]);
    assert_eq!(app.count_users().await, users, "nothing was written");
}

on_both_backends!(
    health_check_is_json_in_schema_and_on_the_wire,
    user_create_booleans_are_optional_but_not_nullable,
    private_user_create_schema_matches_behaviour,
    user_update_booleans_are_optional_but_not_nullable,
    text_fields_declare_that_they_refuse_nul,
);
