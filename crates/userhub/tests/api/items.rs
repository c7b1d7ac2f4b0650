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

/// The counts come from counter rows kept by triggers, not from counting
/// the rows: they must stay exact through creates, deletes, the cascade of a
/// deleted owner, and a page past the end.
async fn counts_stay_exact_through_deletes_and_cascades(b: Backend) {
    let app = TestApp::start(b).await;
    let admin = bearer(&app.admin_token().await);
    let (_, _, a_token, _) = app.new_user("counted-a").await;
    let (_, _, b_token, b_id) = app.new_user("counted-b").await;
    let (a, b_auth) = (bearer(&a_token), bearer(&b_token));
    let listing = |auth: String, query: &'static str| {
        let req = app
            .get(&format!("/api/v1/items/?{query}"))
            .header("Authorization", auth);
        async move {
            let (status, body) = send(req).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let shown = body["data"].as_array().map_or(0, Vec::len);
            (body["count"].as_i64().expect("count"), shown)
        }
    };
    let (all_before, shown) = listing(admin.clone(), "limit=1000").await;
    assert_eq!(all_before, shown as i64);

    let mut a_items = Vec::new();
    for n in 0..3 {
        let (status, item) = send(
            app.post("/api/v1/items/")
                .header("Authorization", &a)
                .json(&json!({ "title": format!("a{n}") })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{item}");
        a_items.push(item["id"].as_str().unwrap().to_owned());
    }
    for n in 0..2 {
        let (status, item) = send(
            app.post("/api/v1/items/")
                .header("Authorization", &b_auth)
                .json(&json!({ "title": format!("b{n}") })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{item}");
    }
    assert_eq!(listing(a.clone(), "limit=1000").await, (3, 3));
    assert_eq!(listing(b_auth.clone(), "limit=1000").await, (2, 2));
    assert_eq!(
        listing(admin.clone(), "limit=1000").await,
        (all_before + 5, all_before as usize + 5)
    );

    let (status, _) = send(
        app.delete(&format!("/api/v1/items/{}", a_items[0]))
            .header("Authorization", &a),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listing(a.clone(), "limit=1000").await, (2, 2));
    assert_eq!(
        listing(a.clone(), "skip=100").await,
        (2, 0),
        "a page past the end still counts"
    );

    let users_before = app.count_users().await;
    let (status, body) = send(
        app.delete(&format!("/api/v1/users/{b_id}"))
            .header("Authorization", &admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.count_users().await, users_before - 1);
    assert_eq!(
        listing(admin.clone(), "limit=1000").await,
        (all_before + 2, all_before as usize + 2),
        "the deleted owner's items left the count with them"
    );
    assert_eq!(listing(a, "limit=1000").await, (2, 2));
}

/// A page is read from whichever end of the list is nearer (deep pages walk
/// the index backwards): every window, from either end, past the end and
/// straddling it, must be exactly that slice of the whole list, with the
/// exact count; for the owner's items and for the admin's lists of all
/// items and of users.
async fn pages_from_either_end_are_slices_of_the_list(b: Backend) {
    let app = TestApp::start(b).await;
    let admin = bearer(&app.admin_token().await);
    let (_, _, token, _) = app.new_user("windows").await;
    let owner = bearer(&token);
    for i in 0..7 {
        let (status, _) = send(
            app.post("/api/v1/items")
                .header("Authorization", &owner)
                .json(&json!({ "title": format!("w{i}") })),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    for _ in 0..3 {
        app.new_user("windows-extra").await;
    }
    let ids = |page: &serde_json::Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for (list, auth) in [("items", &owner), ("items", &admin), ("users", &admin)] {
        let (status, whole) = send(
            app.get(&format!("/api/v1/{list}/?limit=1000"))
                .header("Authorization", auth),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let all = ids(&whole);
        let total = whole["count"].as_i64().unwrap();
        assert_eq!(total as usize, all.len(), "{list}: {whole}");
        for skip in 0..all.len() + 2 {
            for limit in [0, 1, 2, 3, 5, all.len()] {
                let (status, page) = send(
                    app.get(&format!("/api/v1/{list}/?skip={skip}&limit={limit}"))
                        .header("Authorization", auth),
                )
                .await;
                assert_eq!(status, StatusCode::OK);
                let want: Vec<String> = all.iter().skip(skip).take(limit).cloned().collect();
                assert_eq!(
                    (ids(&page), page["count"].as_i64()),
                    (want, Some(total)),
                    "{list} skip={skip} limit={limit}"
                );
            }
        }
    }
    let (status, page) = send(
        app.get(&format!("/api/v1/items/?skip={}&limit=5", i64::MAX))
            .header("Authorization", &owner),
    )
    .await;
    assert_eq!(
        (status, page["count"].as_i64(), ids(&page).len()),
        (StatusCode::OK, Some(7), 0),
        "the largest skip is past the end, not an overflow"
    );
}

on_both_backends!(
    crud_and_ownership,
    listing_is_scoped_paginated_and_newest_first,
    pagination_bounds,
    counts_stay_exact_through_deletes_and_cascades,
    pages_from_either_end_are_slices_of_the_list
);
