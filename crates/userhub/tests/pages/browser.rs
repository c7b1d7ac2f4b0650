//! A browser without JavaScript over a router: keeps cookies, echoes the
//! page's CSRF token.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt;

/// One answer.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> Option<String> {
        let start = self.body.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_owned())
    }

    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

/// A browser without JavaScript: keeps cookies, echoes the page's CSRF token.
pub struct Browser {
    pub app: Router,
    pub cookies: BTreeMap<String, String>,
    pub csrf: Option<String>,
}

impl Browser {
    pub fn new(app: Router) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    pub async fn send(&mut self, request: Request<Body>) -> Page {
        let mut request = request;
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request
                .headers_mut()
                .insert("cookie", header.parse().unwrap());
        }
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for cookie in headers.get_all("set-cookie") {
            let pair = cookie.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let page = Page {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        };
        if let Some(csrf) = page.csrf() {
            self.csrf = Some(csrf);
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// Follows one redirect when there is one.
    pub async fn get_follow(&mut self, path: &str) -> Page {
        let page = self.get(path).await;
        if page.status.is_redirection() {
            let to = page.location().to_owned();
            return self.get(&to).await;
        }
        page
    }

    /// Posts a form with the current CSRF token added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let request = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Posts, then follows the redirect.
    pub async fn post_follow(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.post(path, fields).await;
        if page.status == StatusCode::SEE_OTHER {
            let to = page.location().to_owned();
            return self.get_follow(&to).await;
        }
        page
    }

    pub async fn log_in(&mut self, email: &str, password: &str) -> Page {
        self.get("/login").await;
        self.post_follow("/login", &[("email", email), ("password", password)])
            .await
    }
}
