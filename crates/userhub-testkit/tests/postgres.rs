//! The throwaway PostgreSQL cluster really starts, serves queries and stops.

use std::net::TcpStream;
use std::path::PathBuf;

use sqlx::{Connection, PgConnection, Row};
use userhub_testkit::{
    PostgresError, TestPostgres, TestPostgresOptions, create_database, shared_admin_url,
};

async fn select_one(url: &str) -> i32 {
    let mut conn = PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    let row = sqlx::query("SELECT 1 AS one")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("SELECT 1 on {url}: {e}"));
    row.get::<i32, _>("one")
}

#[tokio::test]
async fn cluster_serves_queries_with_fast_settings_and_stops_on_drop() {
    let cluster = TestPostgres::start().unwrap_or_else(|e| panic!("{e}"));
    let url = cluster.admin_url();
    assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{url}");
    assert_eq!(select_one(&url).await, 1);

    let mut conn = PgConnection::connect(&url).await.expect("connect");
    for (setting, expected) in [
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
        ("max_connections", "300"),
        ("listen_addresses", "127.0.0.1"),
    ] {
        let value: String = sqlx::query_scalar(&format!("SHOW {setting}"))
            .fetch_one(&mut conn)
            .await
            .expect("SHOW");
        assert_eq!(value, expected, "setting {setting}");
    }
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&mut conn)
        .await
        .expect("version");
    assert!(version >= 150_000, "server version {version}");
    conn.close().await.expect("close");

    let port = cluster.port();
    let data_dir = cluster.data_dir().to_path_buf();
    assert!(data_dir.join("PG_VERSION").is_file());
    drop(cluster);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections after drop"
    );
    assert!(!data_dir.exists(), "{} left behind", data_dir.display());
}

#[tokio::test]
async fn create_database_makes_distinct_usable_databases() {
    let admin = shared_admin_url().unwrap_or_else(|e| panic!("{e}"));
    let first = create_database(&admin).await.expect("first database");
    let second = create_database(&admin).await.expect("second database");
    assert_ne!(first, second);

    let mut conn = PgConnection::connect(&first).await.expect("connect first");
    sqlx::query("CREATE TABLE t (id int)")
        .execute(&mut conn)
        .await
        .expect("create table");
    let current: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut conn)
        .await
        .expect("current_database");
    assert!(
        first.ends_with(&format!("/{current}")),
        "{first} vs {current}"
    );

    let mut other = PgConnection::connect(&second)
        .await
        .expect("connect second");
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 't'")
            .fetch_one(&mut other)
            .await
            .expect("count");
    assert_eq!(tables, 0, "databases are not isolated");
}

#[test]
fn shared_admin_url_is_stable_within_a_process() {
    let a = shared_admin_url().unwrap_or_else(|e| panic!("{e}"));
    let b = shared_admin_url().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a, b);
}

#[test]
fn missing_binaries_are_reported_with_the_places_searched() {
    let options = TestPostgresOptions {
        search_dirs: vec![PathBuf::from("/nonexistent/pg/bin"), PathBuf::from("/")],
        ..TestPostgresOptions::default()
    };
    let error = TestPostgres::start_with(options).expect_err("must fail without binaries");
    assert!(matches!(
        error,
        PostgresError::BinaryNotFound {
            binary: "initdb",
            ..
        }
    ));
    let message = error.to_string();
    assert!(message.contains("`initdb` not found"), "{message}");
    assert!(message.contains("/nonexistent/pg/bin"), "{message}");
    assert!(message.contains("USERHUB_TEST_POSTGRES_URL"), "{message}");
}
