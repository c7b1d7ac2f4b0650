//! Flat with data: what a page costs when the item table holds a million
//! rows, one owner a hundred thousand of them, and the user table a hundred
//! thousand users. The rows are written with SQL (the API would take hours);
//! the pages are read through the API like every other scenario.

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use sqlx::Connection as _;

use super::api::{Fixture, ITEMS_PER_READER, login};
use super::scenarios::Db;
use super::server::{SUPERUSER, Server};
use super::wrk::Load;

/// Items of the owner whose pages must cost what a small owner's cost.
pub const BIG_OWNER_ITEMS: i64 = 100_000;
/// Seeded owners of 100 items each; with the big owner and the bench's
/// reader the item table holds exactly 1,000,000 rows.
pub const SEEDED_OWNERS: i64 = 8_999;
/// Users in the table the admin list pages through.
pub const SEEDED_USERS: i64 = 100_000;
/// The deep page: `skip` near the end of the big owner's list.
pub const DEEP_SKIP: i64 = 90_000;

const BIG_OWNER: &str = "bench-big-owner@example.com";
const BIG_OWNER_PASSWORD: &str = "bench-big-owner-password";

/// The loads of the data-scale scenarios, named as the report shows them.
#[derive(Debug, Clone)]
pub struct DataLoads {
    pub loads: Vec<(&'static str, Load)>,
}

/// The page reads compared, all at `connections`: the first is the baseline.
pub const SHAPES: &[&str] = &[
    "items, owner of 100, first page",
    "items, owner of 100,000, first page",
    "items, owner of 100,000, skip=90000",
    "users (admin), 100,000 users, first page",
    "users (admin), 100,000 users, skip=90000",
];

/// Sign up the big owner, write the rows, and return the loads.
pub async fn prepare(
    db: Db,
    database_url: &str,
    server: &Server,
    fixture: &Fixture,
    connections: u32,
) -> Result<DataLoads> {
    let client = reqwest::Client::new();
    let api = format!("{}/api/v1", server.base_url());
    let big_token = super::api::signup_and_login(&client, &api, BIG_OWNER, BIG_OWNER_PASSWORD)
        .await
        .context("signing up the big owner")?;
    let admin_token = login(&client, &api, SUPERUSER, server.superuser_password())
        .await
        .context("logging in the superuser")?;
    let big_id = super::api::user_id(&client, &api, &big_token).await?;

    let started = std::time::Instant::now();
    seed(db, database_url, &big_id)
        .await
        .context("writing the data-scale rows")?;
    println!(
        "bench: wrote {} users and 1,000,000 items in {:.1} s",
        SEEDED_USERS,
        started.elapsed().as_secs_f64()
    );

    let page: Value = client
        .get(format!("{api}/items/?limit=1"))
        .bearer_auth(&big_token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    ensure!(
        page["count"].as_i64() == Some(BIG_OWNER_ITEMS),
        "the big owner should have {BIG_OWNER_ITEMS} items: {page}"
    );

    let base = server.base_url();
    let get = |name: &'static str, path: String, token: &str| {
        (
            name,
            Load {
                name: format!("data-{}", name.replace([' ', ',', '(', ')', '='], "")),
                url: format!("{base}/api/v1{path}"),
                method: "GET",
                headers: vec![("Authorization".into(), format!("Bearer {token}"))],
                body: None,
                connections,
            },
        )
    };
    Ok(DataLoads {
        loads: vec![
            get(SHAPES[0], "/items/?limit=20".into(), &fixture.reader_token),
            get(SHAPES[1], "/items/?limit=20".into(), &big_token),
            get(
                SHAPES[2],
                format!("/items/?skip={DEEP_SKIP}&limit=20"),
                &big_token,
            ),
            get(SHAPES[3], "/users/?limit=20".into(), &admin_token),
            get(
                SHAPES[4],
                format!("/users/?skip={DEEP_SKIP}&limit=20"),
                &admin_token,
            ),
        ],
    })
}

/// Writes the rows straight into the database the server uses.
async fn seed(db: Db, database_url: &str, big_owner: &str) -> Result<()> {
    let owners = SEEDED_OWNERS;
    let users = SEEDED_USERS;
    let big = BIG_OWNER_ITEMS;
    let per_owner = ITEMS_PER_READER;
    match db {
        Db::Postgres => {
            let mut conn = sqlx::PgConnection::connect(database_url).await?;
            // Triggers off for the bulk load (one transaction updating the
            // same count rows a million times), then the counts derived once:
            // the procedure docs/benchmarks.md gives for bulk loads.
            let statements = [
                "BEGIN".to_owned(),
                "SET LOCAL session_replication_role = replica".to_owned(),
                format!(
                    r#"INSERT INTO "user" (email, is_active, is_superuser, full_name, id, hashed_password, created_at)
                       SELECT 'seed-' || g || '@example.com', true, false, NULL, gen_random_uuid(), 'seeded: no login',
                              timestamptz '2026-01-01 00:00:00+00' + g * interval '1 millisecond'
                       FROM generate_series(1, {users}) g"#
                ),
                format!(
                    r#"INSERT INTO item (id, title, description, owner_id, created_at)
                       SELECT gen_random_uuid(), 'seeded item', NULL, u.id,
                              timestamptz '2026-01-01 00:00:00+00' + g * interval '1 microsecond'
                       FROM (SELECT id FROM "user" WHERE email LIKE 'seed-%' ORDER BY email LIMIT {owners}) u,
                            generate_series(1, {per_owner}) g"#
                ),
                format!(
                    r#"INSERT INTO item (id, title, description, owner_id, created_at)
                       SELECT gen_random_uuid(), 'seeded item', NULL, '{big_owner}'::uuid,
                              timestamptz '2026-01-01 00:00:00+00' + g * interval '1 microsecond'
                       FROM generate_series(1, {big}) g"#
                ),
                "DELETE FROM userhub_item_count".to_owned(),
                "DELETE FROM userhub_row_count".to_owned(),
                "INSERT INTO userhub_item_count (owner_id, slot, n) SELECT owner_id, 0, count(*) FROM item GROUP BY owner_id".to_owned(),
                "INSERT INTO userhub_row_count (name, slot, n) SELECT 'item', 0, count(*) FROM item".to_owned(),
                r#"INSERT INTO userhub_row_count (name, slot, n) SELECT 'user', 0, count(*) FROM "user""#.to_owned(),
                "COMMIT".to_owned(),
                "VACUUM ANALYZE item".to_owned(),
                r#"VACUUM ANALYZE "user""#.to_owned(),
            ];
            for statement in statements {
                sqlx::raw_sql(&statement)
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("running {statement}"))?;
            }
        }
        Db::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(database_url).await?;
            let uuid_hex = big_owner.replace('-', "");
            // SQLite's triggers keep the counts as the rows go in (one
            // writer, counts updated in place).
            let statements = [
                "BEGIN".to_owned(),
                format!(
                    r#"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {users})
                       INSERT INTO "user" (email, is_active, is_superuser, full_name, id, hashed_password, created_at)
                       SELECT 'seed-' || n || '@example.com', 1, 0, NULL, randomblob(16), 'seeded: no login',
                              printf('2026-01-01T00:%02d:%02d.%03d+00:00', n / 60000, n / 1000 % 60, n % 1000)
                       FROM g"#
                ),
                format!(
                    r#"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {per_owner})
                       INSERT INTO item (id, title, description, owner_id, created_at)
                       SELECT randomblob(16), 'seeded item', NULL, u.id,
                              printf('2026-01-01T00:00:00.%06d+00:00', n)
                       FROM (SELECT id FROM "user" WHERE email LIKE 'seed-%' ORDER BY email LIMIT {owners}) u, g"#
                ),
                format!(
                    r#"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {big})
                       INSERT INTO item (id, title, description, owner_id, created_at)
                       SELECT randomblob(16), 'seeded item', NULL, X'{uuid_hex}',
                              printf('2026-01-01T00:00:00.%06d+00:00', n)
                       FROM g"#
                ),
                "COMMIT".to_owned(),
                "ANALYZE".to_owned(),
            ];
            for statement in statements {
                sqlx::raw_sql(&statement)
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("running {statement}"))?;
            }
        }
    }
    Ok(())
}
