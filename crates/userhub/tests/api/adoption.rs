//! Adopting a PostgreSQL database created by the reference template: used in
//! place, its argon2 and bcrypt hashes log in, nothing is recreated.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::support::*;

/// Made by the reference's own libraries (argon2-cffi defaults, Python bcrypt).
const ARGON2_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$JG+wJ4anXBnaBVfq9QnnmA$pdHVaKyO6g3t0HF+TD+NlPK2N80X2LEkVvdv5dsMm5E";
const BCRYPT_HASH: &str = "$2b$12$4wFFqINfV1wQHaZp8vbjaeggEcE0nwlVBVg6Xma47PUUpwa9wn./y";
/// A reset token minted by PyJWT for adopted-bcrypt@example.com, float exp in 2100.
const REFERENCE_RESET_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjQxMDI0NDQ4MDAuMjUsIm5iZiI6MTcwMDAwMDAwMCwic3ViIjoiYWRvcHRlZC1iY3J5cHRAZXhhbXBsZS5jb20ifQ.Bt8RC_lN1u0TteFYi3NuKz5THqXLzkHZn_ZZvlMLeaM";

/// The reference's schema as its Alembic migrations leave it.
const REFERENCE_DDL: &str = r#"
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
INSERT INTO alembic_version (version_num) VALUES ('1a31ce608336');
CREATE TABLE "user" (
    email VARCHAR(255) NOT NULL, is_active BOOLEAN NOT NULL, is_superuser BOOLEAN NOT NULL,
    full_name VARCHAR(255), id UUID NOT NULL, hashed_password VARCHAR NOT NULL, created_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id));
CREATE UNIQUE INDEX ix_user_email ON "user" (email);
CREATE TABLE item (
    description VARCHAR(255), title VARCHAR(255) NOT NULL, id UUID NOT NULL, owner_id UUID NOT NULL, created_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id), CONSTRAINT item_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES "user" (id) ON DELETE CASCADE);
INSERT INTO "user" VALUES ('adopted-argon2@example.com', true, true, 'Argon', '11111111-1111-4111-8111-111111111111', '$ARGON2', now());
INSERT INTO "user" VALUES ('adopted-bcrypt@example.com', true, false, NULL, '22222222-2222-4222-8222-222222222222', '$BCRYPT', NULL);
INSERT INTO "user" VALUES ('Mixed@Example.com', true, false, NULL, '33333333-3333-4333-8333-333333333333', '$BCRYPT', now());
INSERT INTO "user" VALUES ('mixed@example.com', true, false, NULL, '44444444-4444-4444-8444-444444444444', '$ARGON2', now());
INSERT INTO item VALUES ('kept', 'Pre-existing item', '55555555-5555-4555-8555-555555555555', '22222222-2222-4222-8222-222222222222', NULL);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_database_is_adopted_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(Backend::Postgres, dir.path()).await;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let ddl = REFERENCE_DDL
        .replace("$ARGON2", ARGON2_HASH)
        .replace("$BCRYPT", BCRYPT_HASH);
    sqlx::raw_sql(&ddl).execute(&mut conn).await.unwrap();
    let user_oid: i64 = sqlx::query_scalar(r#"SELECT 'public."user"'::regclass::oid::bigint"#)
        .fetch_one(&mut conn)
        .await
        .unwrap();

    let app = TestApp::builder(Backend::Postgres)
        .database_url(&url)
        .start()
        .await;
    let report = app.app_state.db.migrate().await.unwrap();
    assert_eq!(
        report.case_duplicates,
        vec![("mixed@example.com".to_owned(), 2)],
        "case-only duplicates are listed, not changed"
    );

    let oid_after: i64 = sqlx::query_scalar(r#"SELECT 'public."user"'::regclass::oid::bigint"#)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(user_oid, oid_after, "the user table was not recreated");
    let schema: String =
        sqlx::query_scalar("SELECT description FROM _sqlx_migrations WHERE version = 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(schema.ends_with("(baseline: adopted, not run)"), "{schema}");
    let alembic: String = sqlx::query_scalar("SELECT version_num FROM alembic_version")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(alembic, "1a31ce608336");

    let argon = app
        .login("adopted-argon2@example.com", "reference-argon2-pass")
        .await;
    let (status, me) = send(
        app.get("/api/v1/users/me")
            .header("Authorization", bearer(&argon)),
    )
    .await;
    assert_eq!(
        (
            status,
            me["full_name"].as_str(),
            me["is_superuser"].as_bool()
        ),
        (StatusCode::OK, Some("Argon"), Some(true))
    );

    let bcrypt_token = app
        .login("Adopted-Bcrypt@example.com", "reference-bcrypt-pass")
        .await;
    let stored: String = sqlx::query_scalar(
        r#"SELECT hashed_password FROM "user" WHERE id = '22222222-2222-4222-8222-222222222222'"#,
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
        "bcrypt hash upgraded on login: {stored}"
    );
    app.login("adopted-bcrypt@example.com", "reference-bcrypt-pass")
        .await;
    let (status, items) = send(
        app.get("/api/v1/items/")
            .header("Authorization", bearer(&bcrypt_token)),
    )
    .await;
    assert_eq!(
        (
            status,
            items["count"].as_i64(),
            items["data"][0]["title"].as_str()
        ),
        (StatusCode::OK, Some(1), Some("Pre-existing item"))
    );
    let (_, me) = send(
        app.get("/api/v1/users/me")
            .header("Authorization", bearer(&bcrypt_token)),
    )
    .await;
    assert_eq!(me["created_at"], serde_json::Value::Null);

    // Exact-case match wins among case-only duplicates.
    app.login("Mixed@Example.com", "reference-bcrypt-pass")
        .await;
    app.login("mixed@example.com", "reference-argon2-pass")
        .await;

    // A reset token minted by the reference (float exp) is accepted.
    let (status, body) = send(
        app.post("/api/v1/reset-password/")
            .json(&json!({ "token": REFERENCE_RESET_TOKEN, "new_password": "after-adoption-1" })),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "message": "Password updated successfully" })
        )
    );
    app.login("adopted-bcrypt@example.com", "after-adoption-1")
        .await;

    // A second start neither re-baselines nor fails.
    drop(app);
    let again = TestApp::builder(Backend::Postgres)
        .database_url(&url)
        .start()
        .await;
    again
        .login("adopted-argon2@example.com", "reference-argon2-pass")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_migration_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(Backend::Sqlite, dir.path()).await;
    let app = TestApp::builder(Backend::Sqlite)
        .database_url(&url)
        .start()
        .await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    let err = app.app_state.db.migrate().await.unwrap_err();
    assert!(
        err.to_string().contains("changed after it was applied"),
        "{err}"
    );
}
