//! Starts the real server on 127.0.0.1:0 against a fresh SQLite file or a
//! fresh PostgreSQL database, and talks to it over HTTP.

use std::net::SocketAddr;

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use userhub::{Application, Mode, StartupError};
use userhub_core::config::{Config, Environment};
use userhub_telemetry::Metrics;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const SECRET_KEY: &str = "reference-interop-secret-key-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database URL for `backend` (PostgreSQL: a new database on the
/// shared throwaway cluster; failing to start it fails the test).
pub async fn database_url(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
        Backend::Postgres => {
            let admin = userhub_testkit::shared_admin_url().unwrap_or_else(|e| {
                panic!("PostgreSQL is required for this test and could not be started: {e}")
            });
            userhub_testkit::create_database(&admin)
                .await
                .unwrap_or_else(|e| panic!("cannot create a PostgreSQL test database: {e}"))
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
    pub app_state: userhub_api::AppState,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), StartupError>>>,
    _dir: tempfile::TempDir,
}

pub struct Builder {
    backend: Backend,
    env: Vec<(String, String)>,
    database_url: Option<String>,
}

impl Builder {
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn database_url(mut self, url: &str) -> Self {
        self.database_url = Some(url.to_owned());
        self
    }

    pub async fn build_config(&self, dir: &std::path::Path) -> Config {
        let url = match &self.database_url {
            Some(u) => u.clone(),
            None => database_url(self.backend, dir).await,
        };
        let mut pairs: Vec<(String, String)> = vec![
            ("ENVIRONMENT".into(), "production".into()),
            ("SECRET_KEY".into(), SECRET_KEY.into()),
            ("DATABASE_URL".into(), url),
            ("USERHUB_DATA_DIR".into(), dir.display().to_string()),
            ("FIRST_SUPERUSER".into(), ADMIN_EMAIL.into()),
            ("FIRST_SUPERUSER_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("FRONTEND_HOST".into(), "http://frontend.test".into()),
            ("USERHUB_DB_POOL_SIZE".into(), "5".into()),
            // Tests stop servers often; the SIGTERM delay has its own tests.
            ("USERHUB_SHUTDOWN_DELAY_SECONDS".into(), "0".into()),
        ];
        for (k, v) in &self.env {
            pairs.retain(|(pk, _)| pk != k);
            pairs.push((k.clone(), v.clone()));
        }
        Config::from_pairs(
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            Environment::Deployed("production".into()),
        )
        .expect("test configuration is valid")
    }

    pub async fn start(self) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = self.build_config(dir.path()).await;
        let app = Application::build(&config, Mode::Api, Metrics::new())
            .await
            .expect("application builds");
        let app_state = app.state().expect("the API has a state").clone();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run(listener, async move {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            app_state,
            shutdown: Some(tx),
            handle: Some(handle),
            _dir: dir,
        }
    }
}

impl TestApp {
    pub fn builder(backend: Backend) -> Builder {
        Builder {
            backend,
            env: Vec::new(),
            database_url: None,
        }
    }

    pub async fn start(backend: Backend) -> Self {
        Self::builder(backend).start().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.client.patch(self.url(path))
    }
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.client.put(self.url(path))
    }
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.client.delete(self.url(path))
    }

    /// Logs in and returns the access token (panics on failure).
    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self.try_login(email, password).await;
        let status = res.status();
        let body: Value = res.json().await.expect("json");
        assert_eq!(status, StatusCode::OK, "login failed: {body}");
        assert_eq!(body["token_type"], "bearer");
        body["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn try_login(&self, email: &str, password: &str) -> Response {
        self.post("/api/v1/login/access-token")
            .form(&[("username", email), ("password", password)])
            .send()
            .await
            .expect("request")
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Signs up a new user and returns (email, password, token, id).
    pub async fn new_user(&self, name: &str) -> (String, String, String, String) {
        let email = format!(
            "{name}-{}@example.com",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let password = "user-password-123".to_owned();
        let res = self
            .post("/api/v1/users/signup")
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::OK);
        let user: Value = res.json().await.expect("json");
        let token = self.login(&email, &password).await;
        (
            email,
            password,
            token,
            user["id"].as_str().expect("id").to_owned(),
        )
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) -> Result<(), StartupError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle
            .take()
            .expect("running")
            .await
            .expect("server task")
    }

    pub async fn count_users(&self) -> i64 {
        self.app_state
            .db
            .list_users(userhub_core::PageRequest { skip: 0, limit: 1 })
            .await
            .expect("count")
            .count
    }

    pub async fn count_items(&self) -> i64 {
        self.app_state
            .db
            .list_items(None, userhub_core::PageRequest { skip: 0, limit: 1 })
            .await
            .expect("count")
            .count
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Sends and decodes: (status, JSON body or `Null`).
pub async fn send(req: RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Asserts a 422 whose entries are at exactly `locs` (order-insensitive).
pub fn assert_422(status: StatusCode, body: &Value, locs: &[&[&str]]) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let entries = body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("detail is a list: {body}"));
    for entry in entries {
        for key in ["type", "loc", "msg", "input"] {
            assert!(entry.get(key).is_some(), "entry lacks {key}: {entry}");
        }
    }
    let mut got: Vec<String> = entries.iter().map(|e| e["loc"].to_string()).collect();
    let mut want: Vec<String> = locs
        .iter()
        .map(|l| serde_json::to_string(l).expect("json"))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{body}");
}

/// Generates one test per backend for each scenario function.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::support::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::support::Backend::Postgres).await } )*
        }
    };
}
