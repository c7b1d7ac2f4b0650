//! `/users`: self-service, signup and superuser administration.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::*;

async fn signup_and_duplicates(b: Backend) {
    let app = TestApp::start(b).await;
    let (status, user) = send(app.post("/api/v1/users/signup").json(&json!({ "email": "New.User@Example.COM", "password": "password123", "full_name": "Né Ü 🚀" }))).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(
        user["email"], "new.user@example.com",
        "emails are stored lowercased"
    );
    assert_eq!(user["full_name"], "Né Ü 🚀");
    assert_eq!(
        (user["is_active"].as_bool(), user["is_superuser"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(chrono::DateTime::parse_from_rfc3339(user["created_at"].as_str().unwrap()).is_ok());
    let before = app.count_users().await;
    let (status, body) = send(
        app.post("/api/v1/users/signup")
            .json(&json!({ "email": "NEW.user@example.com", "password": "password123" })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "detail": "The user with this email already exists in the system" })
        )
    );
    // Privilege fields in a signup body are ignored.
    let (status, user) = send(app.post("/api/v1/users/signup").json(
        &json!({ "email": "sneaky@example.com", "password": "password123", "is_superuser": true }),
    ))
    .await;
    assert_eq!(
        (status, user["is_superuser"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    assert_eq!(app.count_users().await, before + 1);
}

async fn me_read_update_and_email_conflict(b: Backend) {
    let app = TestApp::start(b).await;
    let (email, _, token, id) = app.new_user("me").await;
    let (other_email, ..) = app.new_user("other").await;
    let auth = bearer(&token);
    let (status, me) = send(app.get("/api/v1/users/me").header("Authorization", &auth)).await;
    assert_eq!(
        (status, me["email"].as_str(), me["id"].as_str()),
        (StatusCode::OK, Some(email.as_str()), Some(id.as_str()))
    );
    let (status, me) = send(
        app.patch("/api/v1/users/me")
            .header("Authorization", &auth)
            .json(&json!({ "full_name": "Me Myself" })),
    )
    .await;
    assert_eq!(
        (status, me["full_name"].as_str(), me["email"].as_str()),
        (StatusCode::OK, Some("Me Myself"), Some(email.as_str()))
    );
    let (status, body) = send(
        app.patch("/api/v1/users/me")
            .header("Authorization", &auth)
            .json(&json!({ "email": other_email.to_uppercase() })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            json!({ "detail": "User with this email already exists" })
        )
    );
    let (status, me) = send(
        app.patch("/api/v1/users/me")
            .header("Authorization", &auth)
            .json(&json!({ "email": "Renamed@Example.com", "full_name": null })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["email"].as_str(), me["full_name"].clone()),
        (Some("renamed@example.com"), Value::Null)
    );
    // Own current email is not a conflict.
    let (status, _) = send(
        app.patch("/api/v1/users/me")
            .header("Authorization", &auth)
            .json(&json!({ "email": "renamed@example.com" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn change_own_password(b: Backend) {
    let app = TestApp::start(b).await;
    let (email, password, token, _) = app.new_user("pw").await;
    let auth = bearer(&token);
    let (status, body) = send(
        app.patch("/api/v1/users/me/password")
            .header("Authorization", &auth)
            .json(
                &json!({ "current_password": "wrong-password", "new_password": "new-password-1" }),
            ),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "detail": "Incorrect password" })
        )
    );
    let (status, body) = send(
        app.patch("/api/v1/users/me/password")
            .header("Authorization", &auth)
            .json(&json!({ "current_password": password, "new_password": password })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "detail": "New password cannot be the same as the current one" })
        )
    );
    let (status, body) = send(
        app.patch("/api/v1/users/me/password")
            .header("Authorization", &auth)
            .json(&json!({ "current_password": password, "new_password": "short" })),
    )
    .await;
    assert_422(status, &body, &[&["body", "new_password"]]);
    let (status, body) = send(
        app.patch("/api/v1/users/me/password")
            .header("Authorization", &auth)
            .json(&json!({ "current_password": password, "new_password": "new-password-1" })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "message": "Password updated successfully" })
        )
    );
    assert_eq!(
        app.try_login(&email, &password).await.status(),
        StatusCode::BAD_REQUEST
    );
    app.login(&email, "new-password-1").await;
}

async fn delete_me(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, _, token, _) = app.new_user("leaver").await;
    let auth = bearer(&token);
    for i in 0..3 {
        let (status, _) = send(
            app.post("/api/v1/items/")
                .header("Authorization", &auth)
                .json(&json!({ "title": format!("i{i}") })),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let items_before = app.count_items().await;
    let (status, body) = send(
        app.delete("/api/v1/users/me")
            .header("Authorization", &auth),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "message": "User deleted successfully" })
        )
    );
    assert_eq!(
        app.count_items().await,
        items_before - 3,
        "their items are deleted too"
    );
    let admin = app.admin_token().await;
    let (status, body) = send(
        app.delete("/api/v1/users/me")
            .header("Authorization", bearer(&admin)),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({ "detail": "Super users are not allowed to delete themselves" })
        )
    );
}

async fn admin_lists_and_creates_users(b: Backend) {
    let app = TestApp::start(b).await;
    let admin = bearer(&app.admin_token().await);
    for i in 0..3 {
        let (status, user) = send(app.post("/api/v1/users/").header("Authorization", &admin).json(&json!({
            "email": format!("created{i}@example.com"), "password": "password123", "full_name": format!("C {i}"), "is_superuser": i == 0, "is_active": i != 1
        }))).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["is_superuser"].as_bool(), Some(i == 0));
        assert_eq!(user["is_active"].as_bool(), Some(i != 1));
    }
    let (status, body) = send(
        app.post("/api/v1/users/")
            .header("Authorization", &admin)
            .json(&json!({ "email": "CREATED0@example.com", "password": "password123" })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "detail": "The user with this email already exists in the system." })
        )
    );
    let (status, page) = send(
        app.get("/api/v1/users/?skip=0&limit=2")
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["count"], 4);
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["email"], "created2@example.com", "newest first");
    assert_eq!(data[1]["email"], "created1@example.com");
    let (_, rest) = send(
        app.get("/api/v1/users?skip=2")
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 2);
    assert_eq!(rest["data"][1]["email"], ADMIN_EMAIL);
    let (_, empty) = send(
        app.get("/api/v1/users/?skip=100&limit=0")
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(
        (
            empty["data"].as_array().unwrap().len(),
            empty["count"].as_i64()
        ),
        (0, Some(4))
    );
}

async fn read_user_by_id_rules(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, _, token, id) = app.new_user("reader").await;
    let (_, _, _, other_id) = app.new_user("other").await;
    let auth = bearer(&token);
    let (status, me) = send(
        app.get(&format!("/api/v1/users/{id}"))
            .header("Authorization", &auth),
    )
    .await;
    assert_eq!(
        (status, me["id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );
    let forbidden = json!({ "detail": "The user doesn't have enough privileges" });
    for target in [other_id.clone(), uuid::Uuid::new_v4().to_string()] {
        let (status, body) = send(
            app.get(&format!("/api/v1/users/{target}"))
                .header("Authorization", &auth),
        )
        .await;
        assert_eq!((status, body), (StatusCode::FORBIDDEN, forbidden.clone()));
    }
    let admin = bearer(&app.admin_token().await);
    let (status, other) = send(
        app.get(&format!("/api/v1/users/{other_id}"))
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(
        (status, other["id"].as_str()),
        (StatusCode::OK, Some(other_id.as_str()))
    );
    let (status, body) = send(
        app.get(&format!("/api/v1/users/{}", uuid::Uuid::new_v4()))
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({ "detail": "User not found" }))
    );
}

async fn admin_updates_users(b: Backend) {
    let app = TestApp::start(b).await;
    let admin = bearer(&app.admin_token().await);
    let (email, _, _, id) = app.new_user("target").await;
    let (other_email, ..) = app.new_user("taken").await;
    let (status, body) = send(
        app.patch(&format!("/api/v1/users/{}", uuid::Uuid::new_v4()))
            .header("Authorization", &admin)
            .json(&json!({ "full_name": "x" })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "detail": "The user with this id does not exist in the system" })
        )
    );
    let (status, body) = send(
        app.patch(&format!("/api/v1/users/{id}"))
            .header("Authorization", &admin)
            .json(&json!({ "email": other_email })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            json!({ "detail": "User with this email already exists" })
        )
    );
    let (status, user) = send(app.patch(&format!("/api/v1/users/{id}")).header("Authorization", &admin).json(&json!({ "is_superuser": true, "full_name": "Promoted", "password": "replaced-pass-1" }))).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(
        (
            user["is_superuser"].as_bool(),
            user["full_name"].as_str(),
            user["email"].as_str(),
            user["is_active"].as_bool()
        ),
        (
            Some(true),
            Some("Promoted"),
            Some(email.as_str()),
            Some(true)
        )
    );
    app.login(&email, "replaced-pass-1").await;
}

async fn admin_deletes_users(b: Backend) {
    let app = TestApp::start(b).await;
    let admin_token = app.admin_token().await;
    let admin = bearer(&admin_token);
    let (_, _, token, id) = app.new_user("doomed").await;
    let (status, _) = send(
        app.post("/api/v1/items/")
            .header("Authorization", bearer(&token))
            .json(&json!({ "title": "mine" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(
        app.delete(&format!("/api/v1/users/{}", uuid::Uuid::new_v4()))
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({ "detail": "User not found" }))
    );
    let (_, me) = send(app.get("/api/v1/users/me").header("Authorization", &admin)).await;
    let (status, body) = send(
        app.delete(&format!("/api/v1/users/{}", me["id"].as_str().unwrap()))
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({ "detail": "Super users are not allowed to delete themselves" })
        )
    );
    let (status, body) = send(
        app.delete(&format!("/api/v1/users/{id}"))
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "message": "User deleted successfully" })
        )
    );
    assert_eq!(app.count_items().await, 0);
}

on_both_backends!(
    signup_and_duplicates,
    me_read_update_and_email_conflict,
    change_own_password,
    delete_me,
    admin_lists_and_creates_users,
    read_user_by_id_rules,
    admin_updates_users,
    admin_deletes_users,
);
