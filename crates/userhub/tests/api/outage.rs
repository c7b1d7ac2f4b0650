//! PostgreSQL crashes under load (`pg_ctl stop -m immediate`) on a cluster
//! of the test's own: requests answer 503 with `Retry-After` (never 500),
//! `/readyz` answers 503 within a second, and everything recovers when the
//! database returns, without restarting Userhub.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Mutex;
use userhub_testkit::TestPostgres;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_crash_gives_503_with_retry_after_and_recovers() {
    let cluster = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("PostgreSQL is required for this test: {e}"));
    let url = userhub_testkit::create_database(&cluster.admin_url())
        .await
        .unwrap();
    let cluster = Arc::new(std::sync::Mutex::new(cluster));
    let app = TestApp::builder(Backend::Postgres)
        .database_url(&url)
        .start()
        .await;
    let token = app.admin_token().await;
    let auth = bearer(&token);

    // Clients keep reading and writing throughout the crash.
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::<(u16, bool)>::new()));
    let mut clients = Vec::new();
    for i in 0..4 {
        let (client, stop, seen, auth) =
            (app.client.clone(), stop.clone(), seen.clone(), auth.clone());
        let (me, items) = (app.url("/api/v1/users/me"), app.url("/api/v1/items/"));
        clients.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) && n < 2_000 {
                n += 1;
                let req = if (n + i).is_multiple_of(2) {
                    client.get(&me)
                } else {
                    client
                        .post(&items)
                        .json(&json!({ "title": format!("t{n}") }))
                };
                let Ok(res) = req
                    .header("Authorization", &auth)
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await
                else {
                    continue;
                };
                let retry_after = res.headers().contains_key("retry-after");
                seen.lock().await.push((res.status().as_u16(), retry_after));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let crash = cluster.clone();
    tokio::task::spawn_blocking(move || crash.lock().unwrap().stop_immediate())
        .await
        .unwrap()
        .unwrap();

    // Readiness notices within a second, while the pool's acquire timeout
    // (5 s) would still be waiting.
    let started = Instant::now();
    let (status, body) = send(app.get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "/readyz took {:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    let restart = cluster.clone();
    tokio::task::spawn_blocking(move || restart.lock().unwrap().restart())
        .await
        .unwrap()
        .unwrap();
    let back = Instant::now();
    loop {
        if send(app.get("/readyz")).await.0 == StatusCode::OK {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "ready again within 5 s of PostgreSQL's return"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    let (status, _) = send(app.get("/api/v1/users/me").header("Authorization", &auth)).await;
    assert_eq!(status, StatusCode::OK, "requests succeed again");

    let seen = seen.lock().await;
    let unavailable = seen.iter().filter(|(s, _)| *s == 503).count();
    assert!(unavailable > 0, "the outage was observed: {seen:?}");
    for (status, retry_after) in seen.iter() {
        assert!(
            matches!(status, 200 | 503),
            "only 200 and 503 during a database crash, got {status}"
        );
        if *status == 503 {
            assert!(retry_after, "503 carries Retry-After");
        }
    }
}
