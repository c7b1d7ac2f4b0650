//! backup-restore: pgBackRest (Debian) with WAL archiving. A full backup
//! under write load, more writes, a point-in-time restore to a recorded
//! instant into a new cluster, Userhub started on it: every write
//! acknowledged before the instant is there, none sent after it is; the
//! restore of a database of 100k items takes ≤ 60 s.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::report::Target;
use super::{Ctx, DRILL_EMAIL, DRILL_PASSWORD, Outcome};
use crate::delivery::cmd as tool;
use crate::rig::process::{Spec, Userhub};
use crate::rig::{api, now_ms, pg, stack};

const STANZA: &str = "userhub";
const SEED_ITEMS: u32 = 100_000;
const RESTORE_BOUND: Duration = Duration::from_secs(60);

fn pgbackrest(config: &Path, args: &[&str]) -> Result<String> {
    let binary = tool::ensure_apt("pgbackrest", &["pgbackrest"])?;
    let mut command = pg::as_postgres(&binary);
    command
        .arg(format!("--config={}", config.display()))
        .args(args);
    let line = crate::cmd::display(&command);
    let output = command
        .output()
        .with_context(|| format!("running {line}"))?;
    if !output.status.success() {
        bail!(
            "{line} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

pub fn run(ctx: &mut Ctx) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    tool::ensure_apt("pgbackrest", &["pgbackrest"])?;
    let work = ctx.work.clone();
    let repo = work.join("pgbackrest/repo");
    for dir in [
        "pgbackrest/repo",
        "pgbackrest/log",
        "pgbackrest/lock",
        "pgbackrest/spool",
    ] {
        std::fs::create_dir_all(work.join(dir))?;
    }
    let config = work.join("pgbackrest/pgbackrest.conf");

    let mut primary = pg::Cluster::init(&work, "primary", &[])?;
    std::fs::write(
        &config,
        format!(
            "[global]\nrepo1-path={}\nrepo1-retention-full=2\nlog-path={}\nlock-path={}\nspool-path={}\n\
             log-level-console=warn\nlog-level-file=info\nstart-fast=y\nprocess-max=2\ncompress-type=lz4\n\n\
             [{STANZA}]\npg1-path={}\npg1-port={}\npg1-socket-path={}\npg1-user=postgres\n",
            repo.display(),
            work.join("pgbackrest/log").display(),
            work.join("pgbackrest/lock").display(),
            work.join("pgbackrest/spool").display(),
            primary.data.display(),
            primary.port,
            primary.data.display(),
        ),
    )?;
    pg::chown_postgres(&work.join("pgbackrest"))?;
    primary.configure(&[
        ("wal_level", "replica".into()),
        ("archive_mode", "on".into()),
        (
            "archive_command",
            format!(
                "pgbackrest --config={} --stanza={STANZA} archive-push %p",
                config.display()
            ),
        ),
        ("archive_timeout", "60".into()),
    ])?;
    primary.start()?;
    pgbackrest(&config, &[&format!("--stanza={STANZA}"), "stanza-create"])?;
    pgbackrest(&config, &[&format!("--stanza={STANZA}"), "check"])?;
    primary.psql("postgres", "CREATE DATABASE userhub")?;

    let mut options = stack::Options::new(&ctx.binary.clone(), primary.url("userhub"), 1, false);
    options.api_env = super::drain_env();
    let stack = stack::Stack::start(&options, &work)?;
    api::signup_login(stack.haproxy.http, "seed@example.com", DRILL_PASSWORD)?;
    api::signup_login(stack.haproxy.http, DRILL_EMAIL, DRILL_PASSWORD)?;
    let seeded = Instant::now();
    primary.psql(
        "userhub",
        &format!(
            "INSERT INTO item (id, title, description, owner_id, created_at) \
             SELECT gen_random_uuid(), 'seed ' || g, 'seeded for the restore drill', \
             (SELECT id FROM \"user\" WHERE email = 'seed@example.com'), now() \
             FROM generate_series(1, {SEED_ITEMS}) AS g"
        ),
    )?;
    println!(
        "  seeded {SEED_ITEMS} items in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let size = primary.psql(
        "postgres",
        "SELECT pg_size_pretty(pg_database_size('userhub'))",
    )?;

    let before_backup = ctx.pick(3, 2);
    let after_backup = ctx.pick(8, 4);
    let after_instant = ctx.pick(6, 3);
    let url = stack.haproxy.url();
    // Long enough for the backup; the drill stops k6's writes by waiting it out.
    let seconds = before_backup + 40 + after_backup + after_instant;
    let running = ctx.k6(
        "backup-restore",
        &url,
        (DRILL_EMAIL, DRILL_PASSWORD),
        20,
        10,
        seconds,
    )?;
    std::thread::sleep(Duration::from_secs(before_backup));
    ctx.event("full backup starts");
    let backup_started = Instant::now();
    pgbackrest(
        &config,
        &[&format!("--stanza={STANZA}"), "--type=full", "backup"],
    )?;
    let backup_took = backup_started.elapsed();
    ctx.event("full backup done");
    std::thread::sleep(Duration::from_secs(after_backup));
    let instant_ms = now_ms();
    let instant = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(instant_ms)
        .context("clock")?
        .format("%Y-%m-%d %H:%M:%S%.3f+00")
        .to_string();
    ctx.event(format!("recovery target {instant}"));
    std::thread::sleep(Duration::from_secs(after_instant));
    ctx.event("writes continue past the target");
    let (run, _samples, acks) = ctx.finish("backup-restore", running)?;
    // Archive the WAL holding the last writes.
    pgbackrest(&config, &[&format!("--stanza={STANZA}"), "check"])?;
    drop(stack);

    // Restore into a new cluster.
    let dir = work.join("restored");
    std::fs::create_dir_all(dir.join("data"))?;
    pg::chown_postgres(&dir)?;
    std::fs::set_permissions(
        dir.join("data"),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )?;
    let restore_started = Instant::now();
    pgbackrest(
        &config,
        &[
            &format!("--stanza={STANZA}"),
            &format!("--pg1-path={}", dir.join("data").display()),
            "--type=time",
            &format!("--target={instant}"),
            "--target-action=promote",
            "restore",
        ],
    )?;
    let bin = pg::bin_dir()?;
    let mut restored = pg::Cluster::at("restored", &bin, &dir.join("data"), &dir)?;
    restored.configure(&[("archive_mode", "off".into())])?;
    restored.start()?;
    wait_promoted(&restored)?;
    let restore_took = restore_started.elapsed();
    ctx.event("restored cluster promoted");
    primary.stop("fast")?;

    // Userhub on the restored cluster.
    let spec = Spec::new(
        "api-restored",
        &ctx.binary,
        "api",
        stack::api_env(
            &restored.url("userhub"),
            &crate::delivery::random_hex(32)?,
            "unused-password-1",
        ),
        &work,
    )?;
    let userhub = Userhub::start(spec)?;
    let token = api::login(userhub.spec.bind, DRILL_EMAIL, DRILL_PASSWORD)?;
    let stored = api::item_ids(userhub.spec.bind, &token)?;
    let seed_count: u64 = restored
        .psql("userhub", "SELECT count(*) FROM item i JOIN \"user\" u ON u.id = i.owner_id WHERE u.email = 'seed@example.com'")?
        .parse()
        .unwrap_or(0);

    let before: Vec<&str> = acks
        .iter()
        .filter(|a| a.acked < instant_ms)
        .map(|a| a.ack.as_str())
        .collect();
    let after: Vec<&str> = acks
        .iter()
        .filter(|a| a.sent > instant_ms)
        .map(|a| a.ack.as_str())
        .collect();
    let missing = before.iter().filter(|id| !stored.contains(**id)).count();
    let present_after = after.iter().filter(|id| stored.contains(**id)).count();
    outcome.targets.push(Target::new(
        "writes acknowledged before the instant",
        "all present",
        format!("{missing} of {} missing", before.len()),
        missing == 0 && !before.is_empty(),
    ));
    outcome.targets.push(Target::new(
        "writes sent after the instant",
        "none present",
        format!("{present_after} of {} present", after.len()),
        present_after == 0 && !after.is_empty(),
    ));
    outcome.targets.push(Target::new(
        "restore time (100k items)",
        "≤ 60 s",
        format!(
            "{:.1} s (pgbackrest restore + WAL replay + promotion; database {size}, {seed_count} seeded items restored)",
            restore_took.as_secs_f64()
        ),
        restore_took <= RESTORE_BOUND && seed_count == u64::from(SEED_ITEMS),
    ));
    outcome.targets.push(Target::new(
        "Userhub on the restored cluster",
        "ready and serving",
        format!(
            "ready in {} ms; {} items of the writer listed",
            userhub.start_to_ready.as_millis(),
            stored.len()
        ),
        true,
    ));
    outcome.details = serde_json::json!({
        "recovery_target": instant,
        "acknowledged": acks.len(),
        "acknowledged_before_target": before.len(),
        "sent_after_target": after.len(),
        "in_flight_at_target": acks.len() - before.len() - after.len(),
        "backup_seconds": backup_took.as_secs_f64(),
        "restore_seconds": restore_took.as_secs_f64(),
        "database_size": size,
        "seed_items": seed_count,
        "pgbackrest": pgbackrest_version(),
    });
    outcome.runs.push(run);
    drop(userhub);
    restored.stop("fast")?;
    Ok(outcome)
}

fn wait_promoted(cluster: &pg::Cluster) -> Result<()> {
    let start = Instant::now();
    loop {
        if cluster
            .psql("postgres", "SELECT pg_is_in_recovery()")
            .ok()
            .as_deref()
            == Some("f")
        {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(120) {
            bail!(
                "restored cluster still in recovery after 120 s:\n{}",
                crate::rig::process::tail(&cluster.log, 20)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pgbackrest_version() -> String {
    Command::new("pgbackrest")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
