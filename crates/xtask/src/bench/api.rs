//! Preparing the data a benchmark round needs, through the public API.

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

/// Users and tokens of one round.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Owns 100 items; read load and login load use it.
    pub reader_email: String,
    pub reader_password: String,
    pub reader_token: String,
    pub reader_id: String,
    /// Owns the items the create load writes (so the reader's count stays 100).
    pub writer_token: String,
    pub writer_id: String,
}

pub const ITEMS_PER_READER: usize = 100;

/// Sign up two users, log them in, give the reader 100 items, and check the
/// routes under test answer as the contract says.
pub async fn prepare(base: &str) -> Result<Fixture> {
    let client = reqwest::Client::new();
    let api = format!("{base}/api/v1");

    let health = client
        .get(format!("{api}/utils/health-check/"))
        .send()
        .await?;
    ensure!(
        health.status() == 200,
        "GET /utils/health-check/ answered {}",
        health.status()
    );

    let reader_email = "bench-reader@example.com".to_owned();
    let reader_password = "bench-reader-password".to_owned();
    let reader_token = signup_and_login(&client, &api, &reader_email, &reader_password).await?;
    let writer_token = signup_and_login(
        &client,
        &api,
        "bench-writer@example.com",
        "bench-writer-password",
    )
    .await?;

    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (client, api, token) = (client.clone(), api.clone(), reader_token.clone());
        tasks.spawn(async move {
            for n in (worker..ITEMS_PER_READER).step_by(8) {
                create_item(&client, &api, &token, n).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.context("item creation task")??;
    }

    let page: Value = client
        .get(format!("{api}/items/?limit=20"))
        .bearer_auth(&reader_token)
        .send()
        .await?
        .error_for_status()
        .context("GET /items/?limit=20")?
        .json()
        .await?;
    let count = page["count"].as_u64().unwrap_or(0);
    let shown = page["data"].as_array().map(Vec::len).unwrap_or(0);
    ensure!(
        count == ITEMS_PER_READER as u64 && shown == 20,
        "GET /items/?limit=20 should show 20 of {ITEMS_PER_READER} items, got {shown} of {count}: {page}"
    );

    let reader_id = user_id(&client, &api, &reader_token).await?;
    let writer_id = user_id(&client, &api, &writer_token).await?;
    Ok(Fixture {
        reader_id,
        writer_id,
        reader_email,
        reader_password,
        reader_token,
        writer_token,
    })
}

/// The id of the token's user (`GET /users/me`).
pub async fn user_id(client: &reqwest::Client, api: &str, token: &str) -> Result<String> {
    let me: Value = client
        .get(format!("{api}/users/me"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()
        .context("GET /users/me")?
        .json()
        .await?;
    me["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no id in {me}"))
}

pub async fn signup_and_login(
    client: &reqwest::Client,
    api: &str,
    email: &str,
    password: &str,
) -> Result<String> {
    let signup = client
        .post(format!("{api}/users/signup"))
        .json(&json!({"email": email, "password": password, "full_name": "Bench User"}))
        .send()
        .await?;
    if !signup.status().is_success() {
        bail!(
            "POST /users/signup answered {}: {}",
            signup.status(),
            signup.text().await.unwrap_or_default()
        );
    }
    login(client, api, email, password).await
}

/// Logs `email` in; the access token.
pub async fn login(
    client: &reqwest::Client,
    api: &str,
    email: &str,
    password: &str,
) -> Result<String> {
    let token: Value = client
        .post(format!("{api}/login/access-token"))
        .form(&[("username", email), ("password", password)])
        .send()
        .await?
        .error_for_status()
        .context("POST /login/access-token")?
        .json()
        .await?;
    token["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no access_token in {token}"))
}

async fn create_item(client: &reqwest::Client, api: &str, token: &str, n: usize) -> Result<()> {
    let response = client
        .post(format!("{api}/items/"))
        .bearer_auth(token)
        .json(&json!({"title": format!("item {n}"), "description": "benchmark item"}))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "POST /items/ answered {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    Ok(())
}
