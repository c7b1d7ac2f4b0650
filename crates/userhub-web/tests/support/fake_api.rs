//! A small in-memory stand-in for the API contract, enough to drive the
//! pages in handler tests (the browser suite runs against the real API).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct FakeUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub full_name: Option<String>,
    pub is_superuser: bool,
    pub is_active: bool,
}

#[derive(Debug, Clone)]
pub struct FakeItem {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub owner_id: String,
}

#[derive(Debug, Default)]
pub struct Db {
    pub users: Vec<FakeUser>,
    pub items: Vec<FakeItem>,
    /// Tokens the API now rejects as expired.
    pub revoked: Vec<String>,
    pub recovery_requests: Vec<String>,
    /// Delay before every answer (timeouts).
    pub delay: Option<Duration>,
    /// `traceparent` / `x-forwarded-for` headers seen.
    pub seen_headers: Vec<HashMap<String, String>>,
}

pub type Shared = Arc<Mutex<Db>>;

pub const ADMIN: &str = "admin@example.com";
pub const USER: &str = "user@example.com";
pub const PASSWORD: &str = "password123";

pub fn seeded() -> Shared {
    let mut db = Db::default();
    for (email, su) in [(ADMIN, true), (USER, false)] {
        db.users.push(FakeUser {
            id: uuid::Uuid::new_v4().to_string(),
            email: email.into(),
            password: PASSWORD.into(),
            full_name: if su { Some("Ada Admin".into()) } else { None },
            is_superuser: su,
            is_active: true,
        });
    }
    Arc::new(Mutex::new(db))
}

fn user_json(u: &FakeUser) -> Value {
    json!({"id": u.id, "email": u.email, "is_active": u.is_active, "is_superuser": u.is_superuser,
           "full_name": u.full_name, "created_at": "2026-01-02T03:04:05Z"})
}

fn item_json(i: &FakeItem) -> Value {
    json!({"id": i.id, "title": i.title, "description": i.description, "owner_id": i.owner_id,
           "created_at": "2026-01-02T03:04:05Z"})
}

fn detail(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({"detail": msg}))).into_response()
}

/// The user a bearer token names (`token-<id>`), or the error response.
fn auth(db: &Shared, headers: &HeaderMap) -> Result<FakeUser, Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| detail(StatusCode::UNAUTHORIZED, "Not authenticated"))?;
    let db = db.lock().unwrap();
    if db.revoked.iter().any(|t| t == token) {
        return Err(detail(
            StatusCode::UNAUTHORIZED,
            "Could not validate credentials",
        ));
    }
    let id = token
        .strip_prefix("token-")
        .ok_or_else(|| detail(StatusCode::UNAUTHORIZED, "Could not validate credentials"))?;
    let user = db
        .users
        .iter()
        .find(|u| u.id == id)
        .cloned()
        .ok_or_else(|| detail(StatusCode::NOT_FOUND, "User not found"))?;
    if !user.is_active {
        return Err(detail(StatusCode::BAD_REQUEST, "Inactive user"));
    }
    Ok(user)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct Paging {
    skip: usize,
    limit: usize,
}

async fn pause(db: &Shared, headers: &HeaderMap) {
    let delay = {
        let mut db = db.lock().unwrap();
        db.seen_headers.push(
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
        );
        db.delay
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
}

pub fn router(db: Shared) -> Router {
    Router::new()
        .route("/api/v1/login/access-token", post(login))
        .route(
            "/api/v1/users/me",
            get(me).patch(update_me).delete(delete_me),
        )
        .route(
            "/api/v1/users/me/password",
            axum::routing::patch(update_password),
        )
        .route("/api/v1/users/signup", post(signup))
        .route("/api/v1/password-recovery/{email}", post(recover))
        .route("/api/v1/reset-password", post(reset))
        .route("/api/v1/items", get(list_items).post(create_item))
        .route(
            "/api/v1/items/{id}",
            get(get_item).put(update_item).delete(delete_item),
        )
        .route("/api/v1/users", get(list_users).post(create_user))
        .route(
            "/api/v1/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .with_state(db)
}

async fn login(State(db): State<Shared>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    pause(&db, &headers).await;
    let db = db.lock().unwrap();
    match db
        .users
        .iter()
        .find(|u| u.email == f.username && u.password == f.password)
    {
        Some(u) => Json(json!({"access_token": format!("token-{}", u.id), "token_type": "bearer"}))
            .into_response(),
        None => detail(StatusCode::BAD_REQUEST, "Incorrect email or password"),
    }
}

async fn me(State(db): State<Shared>, headers: HeaderMap) -> Response {
    pause(&db, &headers).await;
    match auth(&db, &headers) {
        Ok(u) => Json(user_json(&u)).into_response(),
        Err(r) => r,
    }
}

async fn update_me(
    State(db): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let me = match auth(&db, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut db = db.lock().unwrap();
    let email = body["email"].as_str().unwrap_or(&me.email).to_owned();
    if db.users.iter().any(|u| u.email == email && u.id != me.id) {
        return detail(StatusCode::CONFLICT, "User with this email already exists");
    }
    let u = db.users.iter_mut().find(|u| u.id == me.id).unwrap();
    u.email = email;
    u.full_name = body["full_name"].as_str().map(str::to_owned);
    Json(user_json(u)).into_response()
}

async fn update_password(
    State(db): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let me = match auth(&db, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if body["current_password"] != me.password.as_str() {
        return detail(StatusCode::BAD_REQUEST, "Incorrect password");
    }
    let mut db = db.lock().unwrap();
    db.users
        .iter_mut()
        .find(|u| u.id == me.id)
        .unwrap()
        .password = body["new_password"].as_str().unwrap_or("").to_owned();
    Json(json!({"message": "Password updated successfully"})).into_response()
}

async fn delete_me(State(db): State<Shared>, headers: HeaderMap) -> Response {
    let me = match auth(&db, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if me.is_superuser {
        return detail(
            StatusCode::FORBIDDEN,
            "Super users are not allowed to delete themselves",
        );
    }
    let mut db = db.lock().unwrap();
    db.users.retain(|u| u.id != me.id);
    db.items.retain(|i| i.owner_id != me.id);
    Json(json!({"message": "User deleted successfully"})).into_response()
}

async fn signup(State(db): State<Shared>, Json(body): Json<Value>) -> Response {
    let mut db = db.lock().unwrap();
    let email = body["email"].as_str().unwrap_or("").to_owned();
    if db.users.iter().any(|u| u.email == email) {
        return detail(
            StatusCode::BAD_REQUEST,
            "The user with this email already exists in the system",
        );
    }
    let password = body["password"].as_str().unwrap_or("").to_owned();
    if password.len() < 8 {
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"detail": [{"type": "string_too_short",
            "loc": ["body", "password"], "msg": "String should have at least 8 characters", "input": password}]})))
            .into_response();
    }
    let u = FakeUser {
        id: uuid::Uuid::new_v4().to_string(),
        email,
        password,
        full_name: body["full_name"].as_str().map(str::to_owned),
        is_superuser: false,
        is_active: true,
    };
    db.users.push(u.clone());
    Json(user_json(&u)).into_response()
}

async fn recover(State(db): State<Shared>, Path(email): Path<String>) -> Response {
    db.lock().unwrap().recovery_requests.push(email);
    Json(json!({"message": "If that email is registered, we sent a password recovery link"}))
        .into_response()
}

async fn reset(State(db): State<Shared>, Json(body): Json<Value>) -> Response {
    let Some(email) = body["token"]
        .as_str()
        .and_then(|t| t.strip_prefix("reset-"))
    else {
        return detail(StatusCode::BAD_REQUEST, "Invalid token");
    };
    let mut db = db.lock().unwrap();
    match db.users.iter_mut().find(|u| u.email == email) {
        Some(u) => {
            u.password = body["new_password"].as_str().unwrap_or("").to_owned();
            Json(json!({"message": "Password updated successfully"})).into_response()
        }
        None => detail(StatusCode::BAD_REQUEST, "Invalid token"),
    }
}

async fn list_items(
    State(db): State<Shared>,
    headers: HeaderMap,
    Query(p): Query<Paging>,
) -> Response {
    pause(&db, &headers).await;
    let me = match auth(&db, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let db = db.lock().unwrap();
    let mine: Vec<&FakeItem> = db
        .items
        .iter()
        .rev()
        .filter(|i| me.is_superuser || i.owner_id == me.id)
        .collect();
    let page: Vec<Value> = mine
        .iter()
        .skip(p.skip)
        .take(p.limit)
        .map(|i| item_json(i))
        .collect();
    Json(json!({"data": page, "count": mine.len()})).into_response()
}

async fn create_item(
    State(db): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let me = match auth(&db, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let title = body["title"].as_str().unwrap_or("").to_owned();
    if title.is_empty() {
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"detail": [{"type": "string_too_short",
            "loc": ["body", "title"], "msg": "String should have at least 1 character", "input": ""}]})))
            .into_response();
    }
    let item = FakeItem {
        id: uuid::Uuid::new_v4().to_string(),
        title,
        description: body["description"].as_str().map(str::to_owned),
        owner_id: me.id,
    };
    db.lock().unwrap().items.push(item.clone());
    Json(item_json(&item)).into_response()
}

fn find_item(db: &Shared, me: &FakeUser, id: &str) -> Result<FakeItem, Response> {
    let db = db.lock().unwrap();
    let item = db
        .items
        .iter()
        .find(|i| i.id == id)
        .cloned()
        .ok_or_else(|| detail(StatusCode::NOT_FOUND, "Item not found"))?;
    if !me.is_superuser && item.owner_id != me.id {
        return Err(detail(StatusCode::FORBIDDEN, "Not enough permissions"));
    }
    Ok(item)
}

async fn get_item(
    State(db): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let me = match auth(&db, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match find_item(&db, &me, &id) {
        Ok(i) => Json(item_json(&i)).into_response(),
        Err(r) => r,
    }
}

async fn update_item(
    State(db): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let me = match auth(&db, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(r) = find_item(&db, &me, &id) {
        return r;
    }
    let mut db = db.lock().unwrap();
    let item = db.items.iter_mut().find(|i| i.id == id).unwrap();
    if let Some(t) = body["title"].as_str() {
        item.title = t.to_owned();
    }
    item.description = body["description"].as_str().map(str::to_owned);
    Json(item_json(item)).into_response()
}

async fn delete_item(
    State(db): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let me = match auth(&db, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(r) = find_item(&db, &me, &id) {
        return r;
    }
    db.lock().unwrap().items.retain(|i| i.id != id);
    Json(json!({"message": "Item deleted successfully"})).into_response()
}

fn superuser(db: &Shared, headers: &HeaderMap) -> Result<FakeUser, Response> {
    let me = auth(db, headers)?;
    if !me.is_superuser {
        return Err(detail(
            StatusCode::FORBIDDEN,
            "The user doesn't have enough privileges",
        ));
    }
    Ok(me)
}

async fn list_users(
    State(db): State<Shared>,
    headers: HeaderMap,
    Query(p): Query<Paging>,
) -> Response {
    if let Err(r) = superuser(&db, &headers) {
        return r;
    }
    let db = db.lock().unwrap();
    let page: Vec<Value> = db
        .users
        .iter()
        .rev()
        .skip(p.skip)
        .take(p.limit)
        .map(user_json)
        .collect();
    Json(json!({"data": page, "count": db.users.len()})).into_response()
}

async fn create_user(
    State(db): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = superuser(&db, &headers) {
        return r;
    }
    let mut db = db.lock().unwrap();
    let email = body["email"].as_str().unwrap_or("").to_owned();
    if db.users.iter().any(|u| u.email == email) {
        return detail(
            StatusCode::BAD_REQUEST,
            "The user with this email already exists in the system.",
        );
    }
    let u = FakeUser {
        id: uuid::Uuid::new_v4().to_string(),
        email,
        password: body["password"].as_str().unwrap_or("").to_owned(),
        full_name: body["full_name"].as_str().map(str::to_owned),
        is_superuser: body["is_superuser"].as_bool().unwrap_or(false),
        is_active: body["is_active"].as_bool().unwrap_or(true),
    };
    db.users.push(u.clone());
    Json(user_json(&u)).into_response()
}

async fn get_user(
    State(db): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = superuser(&db, &headers) {
        return r;
    }
    let db = db.lock().unwrap();
    match db.users.iter().find(|u| u.id == id) {
        Some(u) => Json(user_json(u)).into_response(),
        None => detail(StatusCode::NOT_FOUND, "User not found"),
    }
}

async fn update_user(
    State(db): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = superuser(&db, &headers) {
        return r;
    }
    let mut db = db.lock().unwrap();
    let Some(u) = db.users.iter_mut().find(|u| u.id == id) else {
        return detail(
            StatusCode::NOT_FOUND,
            "The user with this id does not exist in the system",
        );
    };
    if let Some(e) = body["email"].as_str() {
        u.email = e.to_owned();
    }
    u.full_name = body["full_name"].as_str().map(str::to_owned);
    if let Some(p) = body["password"].as_str() {
        u.password = p.to_owned();
    }
    if let Some(b) = body["is_active"].as_bool() {
        u.is_active = b;
    }
    if let Some(b) = body["is_superuser"].as_bool() {
        u.is_superuser = b;
    }
    Json(user_json(u)).into_response()
}

async fn delete_user(
    State(db): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let me = match superuser(&db, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if me.id == id {
        return detail(
            StatusCode::FORBIDDEN,
            "Super users are not allowed to delete themselves",
        );
    }
    let mut db = db.lock().unwrap();
    let before = db.users.len();
    db.users.retain(|u| u.id != id);
    if db.users.len() == before {
        return detail(StatusCode::NOT_FOUND, "User not found");
    }
    Json(json!({"message": "User deleted successfully"})).into_response()
}
