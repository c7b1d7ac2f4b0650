//! The few API calls the drills make themselves (a user to write as, and
//! reading back what was written), over loopback HTTP.

use std::collections::HashSet;
use std::net::SocketAddr;

use anyhow::{Context, Result, bail};

use crate::delivery::http;

/// Sign up `email` (ignored if it exists) and log in; the access token.
pub fn signup_login(addr: SocketAddr, email: &str, password: &str) -> Result<String> {
    let body = serde_json::json!({"email": email, "password": password, "full_name": "Drill"});
    let signup = http::request(
        addr,
        "POST",
        "/api/v1/users/signup",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )?;
    if signup.status != 200 && signup.status != 400 {
        bail!("signup answered {}: {}", signup.status, signup.body);
    }
    login(addr, email, password)
}

pub fn login(addr: SocketAddr, email: &str, password: &str) -> Result<String> {
    let form = format!(
        "username={}&password={}",
        email.replace('@', "%40"),
        password
    );
    let response = http::request(
        addr,
        "POST",
        "/api/v1/login/access-token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )?;
    if response.status != 200 {
        bail!("login answered {}: {}", response.status, response.body);
    }
    let doc: serde_json::Value = serde_json::from_str(&response.body)?;
    doc["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token")
}

/// Ids of every item the token's user can see (paged, 1000 at a time).
pub fn item_ids(addr: SocketAddr, token: &str) -> Result<HashSet<String>> {
    let auth = format!("Bearer {token}");
    let mut ids = HashSet::new();
    let mut skip = 0;
    loop {
        let response = http::get(
            addr,
            &format!("/api/v1/items/?skip={skip}&limit=1000"),
            &[("Authorization", &auth)],
        )?;
        if response.status != 200 {
            bail!(
                "GET /items/ answered {}: {}",
                response.status,
                response.body
            );
        }
        let doc: serde_json::Value = serde_json::from_str(&response.body)?;
        let page = doc["data"]
            .as_array()
            .context("no data in the items page")?;
        for item in page {
            if let Some(id) = item["id"].as_str() {
                ids.insert(id.to_owned());
            }
        }
        if page.len() < 1000 {
            return Ok(ids);
        }
        skip += 1000;
    }
}
