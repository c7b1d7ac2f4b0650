//! Two `userhub api` processes on one database, as the chart runs them:
//! the per-account lockout, token revocation and reset-token use hold
//! across replicas, and each security action leaves one audit event.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::security::reference_token;
use crate::support::*;

const PASSWORD: &str = "replica-password-1";

struct Replica {
    child: Child,
    base: String,
    lines: Arc<Mutex<Vec<String>>>,
}

use crate::free_port::free_port;

impl Replica {
    async fn start(url: &str, data_dir: &std::path::Path) -> Self {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_userhub"));
        for (key, _) in std::env::vars() {
            if key.starts_with("USERHUB_")
                || key.starts_with("OTEL_")
                || key.starts_with("SMTP_")
                || ["ENVIRONMENT", "FASTAPI_ENV", "SECRET_KEY", "DATABASE_URL"]
                    .contains(&key.as_str())
            {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd
            .arg("api")
            .env("ENVIRONMENT", "production")
            .env("SECRET_KEY", SECRET_KEY)
            .env("DATABASE_URL", url)
            .env("USERHUB_DATA_DIR", data_dir)
            .env("USERHUB_BIND", format!("127.0.0.1:{port}"))
            .env("USERHUB_ADMIN_BIND", format!("127.0.0.1:{}", free_port()))
            .env("USERHUB_LOGIN_MAX_FAILURES", "4")
            .env("USERHUB_DB_POOL_SIZE", "3")
            .env("USERHUB_HASH_CONCURRENCY", "1")
            .env("USERHUB_LOG_FORMAT", "json")
            .env("FIRST_SUPERUSER", ADMIN_EMAIL)
            .env("FIRST_SUPERUSER_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push(line);
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "replica did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, base, lines }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/api/v1/login/access-token"))
            .form(&[("username", email), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    async fn me(&self, client: &reqwest::Client, token: &str) -> StatusCode {
        client
            .get(self.url("/api/v1/users/me"))
            .header("Authorization", bearer(token))
            .send()
            .await
            .unwrap()
            .status()
    }

    fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(100));
        self.lines.lock().unwrap().clone()
    }
}

async fn token_of(res: reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn limits_hold_across_two_processes(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(b, dir.path()).await;
    let a = Replica::start(&url, &dir.path().join("a")).await;
    let b2 = Replica::start(&url, &dir.path().join("b")).await;
    let client = reqwest::Client::new();
    let email = format!(
        "replica-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let res = client
        .post(a.url("/api/v1/users/signup"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Revocation: logged out at A, refused at B.
    let t1 = token_of(a.login(&client, &email, PASSWORD).await).await;
    let t2 = token_of(b2.login(&client, &email, PASSWORD).await).await;
    assert_eq!(b2.me(&client, &t1).await, StatusCode::OK);
    let res = client
        .post(a.url("/api/v1/logout"))
        .header("Authorization", bearer(&t1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(b2.me(&client, &t1).await, StatusCode::UNAUTHORIZED);
    assert_eq!(a.me(&client, &t2).await, StatusCode::OK);

    // A reset token raced on both replicas is spent once.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let now = chrono::Utc::now().timestamp();
    let reset = reference_token(
        SECRET_KEY,
        &json!({ "exp": now + 3600, "nbf": now, "sub": email }),
    );
    let send_reset = |r: &Replica, pw: &'static str| {
        client
            .post(r.url("/api/v1/reset-password/"))
            .json(&json!({ "token": reset, "new_password": pw }))
            .send()
    };
    let (ra, rb) = tokio::join!(
        send_reset(&a, "reset-at-a-1"),
        send_reset(&b2, "reset-at-b-1")
    );
    let (sa, sb) = (ra.unwrap().status(), rb.unwrap().status());
    let mut statuses = [sa, sb];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);
    // The reset revoked t2 everywhere.
    assert_eq!(a.me(&client, &t2).await, StatusCode::UNAUTHORIZED);
    let password = if sa == StatusCode::OK {
        "reset-at-a-1"
    } else {
        "reset-at-b-1"
    };
    token_of(b2.login(&client, &email, password).await).await;

    // Lockout: 4 failures in all, split over the replicas, lock both.
    for r in [&a, &b2, &a, &b2] {
        assert_eq!(
            r.login(&client, &email, "wrong-password").await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    for r in [&a, &b2] {
        assert_eq!(
            r.login(&client, &email, password).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    let mut logs = a.stop();
    logs.extend(b2.stop());
    let audit: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "audit")
        .collect();
    let count = |action: &str, outcome: &str| {
        audit
            .iter()
            .filter(|v| v["action"] == action && v["outcome"] == outcome)
            .count()
    };
    assert_eq!(count("user_created", "success"), 1, "{audit:?}");
    assert!(count("login", "success") >= 3, "{audit:?}");
    assert_eq!(count("login", "failure"), 4, "{audit:?}");
    assert_eq!(count("lockout", "denied"), 2, "{audit:?}");
    assert_eq!(count("password_reset", "success"), 1, "{audit:?}");
    assert_eq!(count("password_reset", "failure"), 1, "{audit:?}");
    assert!(count("token_revoked", "success") >= 2, "{audit:?}");
    for event in &audit {
        for field in [
            "action",
            "outcome",
            "actor_id",
            "target_id",
            "client_address",
            "trace_id",
            "request_id",
        ] {
            assert!(event.get(field).is_some(), "{field} missing: {event}");
        }
        assert_eq!(event["client_address"], "127.0.0.1");
    }
    let all = logs.join("\n");
    for secret in [
        PASSWORD,
        "reset-at-a-1",
        "reset-at-b-1",
        t1.as_str(),
        reset.as_str(),
        SECRET_KEY,
    ] {
        assert!(!all.contains(secret), "a secret reached the logs");
    }
    let audit_text = format!("{audit:?}");
    assert!(
        !audit_text.contains(&email),
        "audit events carry ids, not emails"
    );
}

on_both_backends!(limits_hold_across_two_processes);
