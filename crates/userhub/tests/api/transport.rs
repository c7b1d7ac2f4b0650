//! The transport over real sockets: slow and silent connections, the
//! connection cap, requests that outlive their client, the open-files
//! limit, and the SIGTERM sequence of the real binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::*;

/// Reads until the server closes the connection (EOF or reset), returning
/// how long that took, or `None` if it stayed open for `limit`.
fn time_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

async fn silent_and_slow_connections_are_closed(b: Backend) {
    let app = TestApp::builder(b)
        .env("USERHUB_HEADER_READ_TIMEOUT_SECONDS", "1")
        .env("USERHUB_KEEPALIVE_TIMEOUT_SECONDS", "1.5")
        .start()
        .await;
    let addr = app.addr;
    blocking(move || {
        // Connects and never sends a byte.
        let mut silent = TcpStream::connect(addr).unwrap();
        let closed = time_until_closed(&mut silent, Duration::from_secs(6));
        assert!(
            closed.is_some_and(|t| t >= Duration::from_millis(900)),
            "a silent connection is closed after the header timeout: {closed:?}"
        );

        // Sends a header line every 300 ms: trickling does not extend the deadline.
        let mut slow = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        slow.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let mut closed_early = false;
        for i in 0..20 {
            std::thread::sleep(Duration::from_millis(300));
            if slow
                .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                .is_err()
            {
                closed_early = true;
                break;
            }
        }
        let closed = closed_early || time_until_closed(&mut slow, Duration::from_secs(1)).is_some();
        assert!(
            closed,
            "a trickled request head is cut off at the header timeout"
        );
        assert!(started.elapsed() < Duration::from_secs(8));

        // After one exchange, an idle keep-alive connection is closed.
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut response = [0u8; 1024];
        idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = idle.read(&mut response).unwrap();
        assert!(String::from_utf8_lossy(&response[..n]).starts_with("HTTP/1.1 200"));
        let closed = time_until_closed(&mut idle, Duration::from_secs(6));
        assert!(
            closed.is_some_and(|t| t >= Duration::from_millis(1200)),
            "idle keep-alive connection closed after its timeout: {closed:?}"
        );
    })
    .await;
    // A well-behaved client is unaffected.
    assert_eq!(send(app.get("/livez")).await.0, StatusCode::OK);
}

async fn silent_connections_do_not_lock_out_real_clients(b: Backend) {
    let app = TestApp::builder(b)
        .env("USERHUB_HEADER_READ_TIMEOUT_SECONDS", "1")
        .env("USERHUB_MAX_CONNECTIONS", "16")
        .start()
        .await;
    let addr = app.addr;
    // Four times the cap of connections that never send anything.
    let silent = blocking(move || {
        (0..64)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect::<Vec<_>>()
    })
    .await;
    let started = Instant::now();
    let res = app
        .get("/api/v1/utils/health-check/")
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .expect("a real client is served despite the silent connections");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(15));
    drop(silent);
}

/// Writes a complete signup request and closes the socket at once, before
/// any answer; the reference (and its frontend's tests) still create the user.
async fn a_request_survives_its_client(b: Backend) {
    let app = TestApp::start(b).await;
    let addr = app.addr;
    let emails: Vec<String> = (0..5)
        .map(|i| format!("gone-{i}-{}@example.com", uuid::Uuid::new_v4().simple()))
        .collect();
    let sent = emails.clone();
    blocking(move || {
        for email in sent {
            let body = json!({ "email": email, "password": "gone-password-1" }).to_string();
            let request = format!(
                "POST /api/v1/users/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            // One write, as browsers send a small request, then gone.
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            drop(stream);
        }
    })
    .await;
    assert_all_signed_up(&app, &emails, 6).await;
}

/// Waits (bounded) for `users` accounts, then logs each email in.
async fn assert_all_signed_up(app: &TestApp, emails: &[String], users: i64) {
    // Counted in the database: polling logins would lock the accounts out.
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.count_users().await < users && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut created = 0;
    for email in emails {
        if app.try_login(email, "gone-password-1").await.status() == StatusCode::OK {
            created += 1;
        }
    }
    assert_eq!(created, 5, "every complete signup ran to completion");
}

/// Past `USERHUB_MAX_IN_FLIGHT_REQUESTS` a request is shed at once with 503
/// and `Retry-After`, in the contract's error shape, while the health
/// probes are still answered; once the burst is over, requests succeed.
async fn excess_requests_are_shed_at_once(b: Backend) {
    let app = TestApp::builder(b)
        .env("USERHUB_MAX_IN_FLIGHT_REQUESTS", "1")
        // Logins queue behind one argon2 run at a time: each holds its
        // in-flight permit for at least one hash.
        .env("USERHUB_HASH_CONCURRENCY", "1")
        .start()
        .await;
    let login = || {
        app.post("/api/v1/login/access-token")
            .form(&[("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
            .send()
    };
    let probes = async {
        let mut statuses = Vec::new();
        for _ in 0..5 {
            for path in ["/readyz", "/livez"] {
                statuses.push(app.get(path).send().await.unwrap().status());
            }
        }
        statuses
    };
    let burst = futures::future::join_all((0..12).map(|_| async {
        let started = Instant::now();
        let response = login().await.unwrap();
        (response, started.elapsed())
    }));
    let (answers, probe_statuses) = tokio::join!(burst, probes);
    let mut shed = 0;
    for (response, took) in answers {
        match response.status() {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                shed += 1;
                assert_eq!(
                    response
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap()),
                    Some("1")
                );
                assert!(took < Duration::from_secs(2), "shed after {took:?}");
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(
                    body,
                    json!({"detail": "Service temporarily overloaded, retry shortly"})
                );
            }
            other => panic!("unexpected status {other} in a burst"),
        }
    }
    assert!(
        shed > 0,
        "12 concurrent logins against a limit of 1: none shed"
    );
    assert!(
        probe_statuses.iter().all(|s| *s == StatusCode::OK),
        "probes are never shed: {probe_statuses:?}"
    );
    assert_eq!(login().await.unwrap().status(), StatusCode::OK);
}

on_both_backends!(
    silent_and_slow_connections_are_closed,
    silent_connections_do_not_lock_out_real_clients,
    a_request_survives_its_client,
    excess_requests_are_shed_at_once,
);

/// The real binary, `userhub api` on SQLite, in a fresh directory, with
/// the listeners on free loopback ports.
struct Process {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

use crate::free_port::free_port;

impl Process {
    /// Starts `shell_prefix; exec userhub api` with `env`.
    fn start(shell_prefix: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cmd = Command::new("sh");
        for (key, _) in std::env::vars() {
            if key.starts_with("USERHUB_")
                || key.starts_with("OTEL_")
                || ["SECRET_KEY", "DATABASE_URL", "ENVIRONMENT", "FASTAPI_ENV"]
                    .contains(&key.as_str())
            {
                cmd.env_remove(key);
            }
        }
        cmd.arg("-c")
            .arg(format!(
                "{shell_prefix}\nexec '{}' api",
                env!("CARGO_BIN_EXE_userhub")
            ))
            .current_dir(dir.path())
            .env("SECRET_KEY", SECRET_KEY)
            .env("USERHUB_BIND", format!("127.0.0.1:{port}"))
            .env("USERHUB_ADMIN_BIND", format!("127.0.0.1:{}", free_port()))
            .env("USERHUB_LOG_FORMAT", "json")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().unwrap();
        let process = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return process;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("userhub api did not listen within 30 s");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real binary (its own runtime and threads, as in production): bursts
/// of complete signups whose clients close at once, the request in one
/// write and with head and body in two. Before the server allowed a
/// half-closed connection, hyper read the client's EOF while the request
/// was starting and dropped its body: 15 of these 16 were lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_requests_from_vanished_clients_all_run_on_the_binary() {
    let process = blocking(|| {
        Process::start(
            "",
            &[
                ("FIRST_SUPERUSER", "root@example.com"),
                ("FIRST_SUPERUSER_PASSWORD", "root-password-1"),
            ],
        )
    })
    .await;
    let port = process.port;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let emails: Vec<String> = (0..16)
        .map(|i| format!("vanished-{i}-{}@example.com", &tag[..8]))
        .collect();
    let sent = emails.clone();
    blocking(move || {
        for (i, email) in sent.iter().enumerate() {
            let body = json!({ "email": email, "password": "gone-password-1" }).to_string();
            let head = format!(
                "POST /api/v1/users/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            // Accepted and waiting for a head when the request and the EOF
            // arrive (a client that connected before it had the request).
            std::thread::sleep(Duration::from_millis(20));
            if i % 2 == 0 {
                stream.write_all(format!("{head}{body}").as_bytes()).unwrap();
            } else {
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(body.as_bytes()).unwrap();
            }
            drop(stream);
        }
    })
    .await;
    let client = reqwest::Client::new();
    let token: serde_json::Value = client
        .post(process.url("/api/v1/login/access-token"))
        .form(&[
            ("username", "root@example.com"),
            ("password", "root-password-1"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let auth = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let users: serde_json::Value = client
            .get(process.url("/api/v1/users/?limit=100"))
            .header("Authorization", &auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let created: Vec<&str> = users["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u["email"].as_str())
            .collect();
        let missing: Vec<&String> = emails
            .iter()
            .filter(|e| !created.contains(&e.as_str()))
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing.len();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        missing,
        0,
        "of {} complete signups, {missing} were lost",
        emails.len()
    );
}

/// With a soft open-files limit of 256, a few hundred silent connections
/// used to exhaust the descriptors: accept failed and nobody was served.
/// Userhub raises the soft limit to the hard one and closes silent
/// connections after the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_silent_connections_leave_room_for_real_clients() {
    let process = blocking(|| {
        Process::start(
            "ulimit -S -n 256 || exit 97",
            &[("USERHUB_HEADER_READ_TIMEOUT_SECONDS", "2")],
        )
    })
    .await;
    let port = process.port;
    let silent = blocking(move || {
        (0..400)
            .filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok())
            .collect::<Vec<_>>()
    })
    .await;
    assert!(silent.len() >= 300, "opened {} connections", silent.len());
    let client = reqwest::Client::new();
    let res = client
        .get(process.url("/api/v1/utils/health-check/"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("a real client is served");
    assert_eq!(res.status(), StatusCode::OK);
    drop(silent);
}

/// SIGTERM: `/readyz` fails at once, requests are still served (with
/// `Connection: close`) for the shutdown delay, then the listener closes
/// and the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_fails_readiness_then_serves_out_the_delay() {
    let mut process =
        blocking(|| Process::start("", &[("USERHUB_SHUTDOWN_DELAY_SECONDS", "3")])).await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(process.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let signalled = Instant::now();
    process.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ready = client.get(process.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Fresh connections are still served during the delay.
    for _ in 0..5 {
        let res = reqwest::Client::new()
            .get(process.url("/api/v1/utils/health-check/"))
            .send()
            .await
            .expect("served during the shutdown delay");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["connection"], "close");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(signalled.elapsed() < Duration::from_secs(3));
    let status = blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = process.child.try_wait().unwrap() {
                return (status, signalled.elapsed(), process);
            }
            assert!(Instant::now() < deadline, "exits after the drain");
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await;
    let (status, elapsed, process) = status;
    assert!(status.success(), "exit 0: {status:?}");
    assert!(
        elapsed >= Duration::from_millis(2900),
        "served out the delay: {elapsed:?}"
    );
    assert!(TcpStream::connect(("127.0.0.1", process.port)).is_err());
}

/// `userhub api` with the default SQLite database: the data directory it
/// creates is 0700, the database and its WAL files 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_data_directory_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let process = blocking(|| {
        Process::start(
            "",
            &[
                ("FIRST_SUPERUSER", ADMIN_EMAIL),
                ("FIRST_SUPERUSER_PASSWORD", ADMIN_PASSWORD),
            ],
        )
    })
    .await;
    // A write, so the WAL and shared-memory files exist.
    let res = reqwest::Client::new()
        .post(process.url("/api/v1/users/signup"))
        .json(&json!({ "email": "private@example.com", "password": "private-pass-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let data = process._dir.path().join("data");
    let mode = |name: &str| {
        std::fs::metadata(data.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for file in ["userhub.db", "userhub.db-wal", "userhub.db-shm"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}
