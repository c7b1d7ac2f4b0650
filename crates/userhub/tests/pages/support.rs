//! The web UI over the real API, in process, on a fresh SQLite database:
//! the first superuser [`ADMIN`] (named "Ada Admin") and a normal user
//! [`USER`], both with [`PASSWORD`]; email goes to an SMTP sink. A probe in
//! front of the API records the headers of every call and can delay them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use userhub::{Application, Mode};
use userhub_api::AppState;
use userhub_core::config::{Config, Environment};
use userhub_core::{Email, FullName, Item, NewUser, PageRequest, User, UserPatch};
use userhub_telemetry::Metrics;
use userhub_testkit::SmtpSink;
use userhub_web::{InProcessTransport, WebSettings, WebState};

pub const ADMIN: &str = "admin@example.com";
pub const USER: &str = "user@example.com";
pub const PASSWORD: &str = "password123";
pub const KEY: &str = "test-cookie-key-test-cookie-key-0123456789";

/// What the probe saw and does.
#[derive(Debug, Clone, Default)]
pub struct Probe(Arc<Mutex<ProbeState>>);

#[derive(Debug, Default)]
struct ProbeState {
    seen: Vec<HeaderMap>,
    delay: Option<Duration>,
}

impl Probe {
    /// The headers of every API call so far.
    pub fn seen(&self) -> Vec<HeaderMap> {
        self.0.lock().unwrap().seen.clone()
    }

    /// Delays every later API answer by `delay`.
    pub fn delay(&self, delay: Duration) {
        self.0.lock().unwrap().delay = Some(delay);
    }
}

async fn probed(State(probe): State<Probe>, request: Request, next: Next) -> Response {
    let delay = {
        let mut probe = probe.0.lock().unwrap();
        probe.seen.push(request.headers().clone());
        probe.delay
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    next.run(request).await
}

/// The API with its data, and the UI in front of it.
pub struct TestApp {
    /// The API with all its layers, behind the probe.
    pub api: Router,
    pub state: AppState,
    pub probe: Probe,
    pub smtp: SmtpSink,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let smtp = SmtpSink::start().await.unwrap();
        let port = smtp.port().to_string();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        let data_dir = dir.path().display().to_string();
        let pairs = [
            ("SECRET_KEY", "web-pages-test-secret-key-0123456789abcdef"),
            ("DATABASE_URL", url.as_str()),
            ("USERHUB_DATA_DIR", data_dir.as_str()),
            ("FIRST_SUPERUSER", ADMIN),
            ("FIRST_SUPERUSER_PASSWORD", PASSWORD),
            ("FRONTEND_HOST", "http://frontend.test"),
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", port.as_str()),
            ("SMTP_TLS", "false"),
            ("EMAILS_FROM_EMAIL", "noreply@userhub.test"),
        ];
        let config = Config::from_pairs(pairs, Environment::Deployed("production".into())).unwrap();
        let app = Application::build(&config, Mode::Api, Metrics::new())
            .await
            .unwrap();
        let state = app.state().unwrap().clone();
        let admin = state.db.user_by_email(ADMIN).await.unwrap().unwrap();
        let patch = UserPatch {
            full_name: Some(Some(FullName::parse("Ada Admin").unwrap())),
            ..UserPatch::default()
        };
        state.db.update_user(admin.id, patch).await.unwrap();
        let hashed_password = state.hasher.hash(PASSWORD).await.unwrap();
        let user = NewUser {
            email: Email::parse(USER).unwrap(),
            is_active: true,
            is_superuser: false,
            full_name: None,
            hashed_password,
        };
        state.db.insert_user(user).await.unwrap();
        let probe = Probe::default();
        let api = app
            .router()
            .layer(axum::middleware::from_fn_with_state(probe.clone(), probed));
        Self {
            api,
            state,
            probe,
            smtp,
            _dir: dir,
        }
    }

    /// The UI's router calling the API in process.
    pub fn web(&self) -> Router {
        self.web_with(WebSettings::for_tests(KEY))
    }

    pub fn web_with(&self, settings: WebSettings) -> Router {
        let state = WebState::in_process(settings, InProcessTransport::new(self.api.clone()));
        userhub_web::router(state)
    }

    pub async fn user(&self, email: &str) -> User {
        self.state.db.user_by_email(email).await.unwrap().unwrap()
    }

    pub async fn users(&self) -> i64 {
        self.state
            .db
            .list_users(PageRequest::default())
            .await
            .unwrap()
            .count
    }

    /// Every item, oldest first.
    pub async fn items(&self) -> Vec<Item> {
        let page = PageRequest {
            skip: 0,
            limit: 1000,
        };
        let mut items = self.state.db.list_items(None, page).await.unwrap().data;
        items.reverse();
        items
    }

    /// Voids every token issued to `email` so far (as a password change does).
    pub async fn revoke_tokens(&self, email: &str) {
        let user = self.user(email).await;
        let patch = UserPatch {
            hashed_password: Some(self.state.hasher.hash(PASSWORD).await.unwrap()),
            password_changed: Some(None),
            ..UserPatch::default()
        };
        self.state.db.update_user(user.id, patch).await.unwrap();
    }
}

pub fn settings_with_timeout(timeout: Duration) -> WebSettings {
    let mut s = WebSettings::for_tests(KEY);
    s.api_timeout = timeout;
    s
}
