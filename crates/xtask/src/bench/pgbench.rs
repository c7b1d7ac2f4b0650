//! The database's own limit: `pgbench -M prepared` running exactly the
//! statements one request sends, against the same server and the same rows,
//! in the same round as the API load, so the ratio holds while the
//! machine's speed drifts.
//!
//! The statements are copied from `userhub-storage` (`user_for_token`,
//! `list_items`, `insert_item`) with the bench users' ids as literals; keep
//! them in step when those queries change.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// What one request of a scenario sends to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statements {
    /// The token's user, then the page with its count.
    ItemsRead,
    /// The token's user, then the insert.
    Create,
}

const USER_BY_ID: &str = r#"SELECT id, email, is_active, is_superuser, full_name, hashed_password, created_at, password_changed_at_micros, email_changed_at_micros, token_exempt, EXISTS (SELECT 1 FROM userhub_revoked_token WHERE fingerprint = 'pgbench-token-fingerprint') AS revoked FROM "user" WHERE id = '{user}';"#;
/// `list_items` for an owner (`rows::page_sql`) with `limit` 20, `skip` 0.
const ITEMS_PAGE: &str = "WITH c (total) AS (SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM userhub_item_count WHERE owner_id = '{user}') SELECT id, title, description, owner_id, created_at, (SELECT total FROM c) AS total FROM item WHERE id IN (SELECT id FROM (SELECT id FROM item WHERE owner_id = '{user}' ORDER BY created_at DESC NULLS LAST, id DESC LIMIT (SELECT CASE WHEN c.total - 0 - 0 >= 20 THEN 20 ELSE 0 END FROM c) OFFSET 0) AS front_page UNION ALL SELECT id FROM (SELECT id FROM item WHERE owner_id = '{user}' ORDER BY created_at ASC NULLS FIRST, id ASC LIMIT (SELECT CASE WHEN c.total - 0 - 0 >= 20 OR c.total <= 0 THEN 0 WHEN c.total - 0 < 20 THEN c.total - 0 ELSE 20 END FROM c) OFFSET (SELECT CASE WHEN c.total - 0 - 20 > 0 THEN c.total - 0 - 20 ELSE 0 END FROM c)) AS back_page) ORDER BY created_at DESC NULLS LAST, id DESC;";
const INSERT_ITEM: &str = "INSERT INTO item (id, title, description, owner_id, created_at) VALUES (gen_random_uuid(), 'bench item', 'created by pgbench', '{user}', now()) RETURNING id, title, description, owner_id, created_at;";

impl Statements {
    fn script(self, user: &str) -> String {
        let lines = match self {
            Self::ItemsRead => [USER_BY_ID, ITEMS_PAGE],
            Self::Create => [USER_BY_ID, INSERT_ITEM],
        };
        lines
            .iter()
            .map(|line| line.replace("{user}", user))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }
}

/// `pgbench` beside the PostgreSQL binaries the test kit found.
pub fn binary() -> Result<PathBuf> {
    use userhub_testkit::postgres::{default_search_dirs, find_bin_dir};
    let dir = find_bin_dir(&default_search_dirs()).context("finding the PostgreSQL binaries")?;
    let pgbench = dir.join("pgbench");
    if pgbench.exists() {
        return Ok(pgbench);
    }
    which("pgbench").context("pgbench not found beside initdb nor on PATH")
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}

/// One pgbench measurement: which statements, for whom, how hard, how long.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub database_url: &'a str,
    pub statements: Statements,
    /// The id of the user whose rows the statements read or write.
    pub user: &'a str,
    pub clients: u32,
    pub warmup: Duration,
    pub measure: Duration,
}

/// Transactions per second of `run` (after its warm-up) and the PostgreSQL
/// CPU time per transaction (µs); scripts go to `dir`.
pub fn run(pgbench: &Path, run: Run<'_>, dir: &Path) -> Result<(f64, f64)> {
    use super::scenarios::{CLOCK_TICKS_PER_SECOND, postgres_cpu_ticks};
    let script = dir.join(format!("pgbench-{:?}.sql", run.statements));
    std::fs::write(&script, run.statements.script(run.user))?;
    run_once(pgbench, run.database_url, &script, run.clients, run.warmup)?;
    let before = postgres_cpu_ticks();
    let tps = run_once(pgbench, run.database_url, &script, run.clients, run.measure)?;
    let ticks = postgres_cpu_ticks().saturating_sub(before);
    let transactions = (tps * run.measure.as_secs_f64()).max(1.0);
    Ok((
        tps,
        ticks as f64 * 1e6 / CLOCK_TICKS_PER_SECOND / transactions,
    ))
}

fn run_once(
    pgbench: &Path,
    database_url: &str,
    script: &Path,
    clients: u32,
    duration: Duration,
) -> Result<f64> {
    let output = Command::new(pgbench)
        .args(["-n", "-M", "prepared", "-j", "2"])
        .arg("-c")
        .arg(clients.to_string())
        .arg("-T")
        .arg(duration.as_secs().max(1).to_string())
        .arg("-f")
        .arg(script)
        .arg(database_url)
        .output()
        .with_context(|| format!("running {}", pgbench.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    stdout
        .lines()
        .find_map(|line| {
            line.strip_prefix("tps = ")?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .with_context(|| format!("no `tps = ` line in pgbench's output:\n{stdout}"))
}
