//! `/items`: ownership, pagination and partial updates.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::*;

async fn crud_and_ownership(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, _, owner_token, owner_id) = app.new_user("owner").await;
    let (_, _, other_token, _) = app.new_user("other").await;
    let owner = bearer(&owner_token);
    let other = bearer(&other_token);
    let admin = bearer(&app.admin_token().await);

    let (status, item) = send(app.post("/api/v1/items/").header("Authorization", &owner).json(&json!({ "title": "Robert'); DROP TABLE item;--", "description": "日本語 \u{202e} 🎉" }))).await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!(item["owner_id"].as_str(), Some(owner_id.as_str()));
    assert_eq!(item["title"], "Robert'); DROP TABLE item;--");
    assert_eq!(item["description"], "日本語 \u{202e} 🎉");
    let id = item["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/items/{id}");

    let (status, got) = send(app.get(&path).header("Authorization", &owner)).await;
    assert_eq!((status, got.clone()), (StatusCode::OK, item.clone()));
    let (status, _) = send(app.get(&path).header("Authorization", &admin)).await;
    assert_eq!(status, StatusCode::OK, "superusers see every item");
    let denied = json!({ "detail": "Not enough permissions" });
    for req in [
        app.get(&path),
        app.put(&path).json(&json!({ "title": "stolen" })),
        app.delete(&path),
    ] {
        let (status, body) = send(req.header("Authorization", &other)).await;
        assert_eq!((status, body), (StatusCode::FORBIDDEN, denied.clone()));
    }

    let (status, updated) = send(
        app.put(&path)
            .header("Authorization", &owner)
            .json(&json!({ "title": "Renamed" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (updated["title"].as_str(), updated["description"].as_str()),
        (Some("Renamed"), Some("日本語 \u{202e} 🎉")),
        "partial update keeps the description"
    );
    let (_, updated) = send(
        app.put(&path)
            .header("Authorization", &owner)
            .json(&json!({ "description": null })),
    )
    .await;
    assert_eq!(
        (updated["title"].as_str(), updated["description"].clone()),
        (Some("Renamed"), serde_json::Value::Null)
    );

    let (status, body) = send(app.delete(&path).header("Authorization", &owner)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "message": "Item deleted successfully" })
        )
    );
    let missing = json!({ "detail": "Item not found" });
    for req in [
        app.get(&path),
        app.put(&path).json(&json!({ "title": "x" })),
        app.delete(&path),
    ] {
        let (status, body) = send(req.header("Authorization", &owner)).await;
        assert_eq!((status, body), (StatusCode::NOT_FOUND, missing.clone()));
    }
}

async fn listing_is_scoped_paginated_and_newest_first(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, _, a_token, _) = app.new_user("a").await;
    let (_, _, b_token, _) = app.new_user("b").await;
    for i in 0..5 {
        let (status, _) = send(
            app.post("/api/v1/items")
                .header("Authorization", bearer(&a_token))
                .json(&json!({ "title": format!("a{i}") })),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = send(
        app.post("/api/v1/items/")
            .header("Authorization", bearer(&b_token))
            .json(&json!({ "title": "b0" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, page) = send(
        app.get("/api/v1/items/?skip=1&limit=2")
            .header("Authorization", bearer(&a_token)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["count"], 5, "count is the total, not the page size");
    let titles: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["a3", "a2"]);
    let (_, page) = send(
        app.get("/api/v1/items")
            .header("Authorization", bearer(&b_token)),
    )
    .await;
    assert_eq!(
        (page["count"].as_i64(), page["data"][0]["title"].as_str()),
        (Some(1), Some("b0"))
    );
    let (_, page) = send(
        app.get("/api/v1/items/")
            .header("Authorization", bearer(&app.admin_token().await)),
    )
    .await;
    assert_eq!(page["count"], 6, "superusers list every item");
    assert_eq!(page["data"][0]["title"], "b0");
}

async fn pagination_bounds(b: Backend) {
    let app = TestApp::start(b).await;
    let (_, _, token, _) = app.new_user("pager").await;
    let auth = bearer(&token);
    for (query, loc) in [
        ("skip=-1", "skip"),
        ("limit=-1", "limit"),
        ("limit=1001", "limit"),
        ("skip=abc", "skip"),
        ("limit=1.5", "limit"),
    ] {
        let (status, body) = send(
            app.get(&format!("/api/v1/items/?{query}"))
                .header("Authorization", &auth),
        )
        .await;
        assert_422(status, &body, &[&["query", loc]]);
    }
    let (status, body) = send(
        app.get("/api/v1/items/?skip=-5&limit=5000")
            .header("Authorization", &auth),
    )
    .await;
    assert_422(status, &body, &[&["query", "skip"], &["query", "limit"]]);
    assert_eq!(body["detail"][0]["type"], "greater_than_equal");
    let (status, _) = send(
        app.get("/api/v1/items/?limit=1000&skip=0")
            .header("Authorization", &auth),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

on_both_backends!(
    crud_and_ownership,
    listing_is_scoped_paginated_and_newest_first,
    pagination_bounds
);
