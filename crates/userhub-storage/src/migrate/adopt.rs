//! What a database already holds when sqlx's migrator first runs on it,
//! recorded in `_sqlx_migrations` so that none of it is run again:
//!
//! - a database created by the reference template (`alembic_version` and
//!   `"user"`, no record of Userhub's): its schema is migration 1, recorded
//!   as a baseline with sqlx's checksum instead of being run, so that only
//!   the additive migrations after it run;
//! - a database Userhub migrated before it used sqlx's migrator: the
//!   versions recorded in `userhub_migrations` are carried over, each once
//!   the checksum recorded then (FNV-1a of the SQL text) matches this
//!   build's migration; an edited or unknown migration is refused. The old
//!   table is left as it is and not read again.

use chrono::{DateTime, Utc};
use sqlx::migrate::Migration;

use crate::StorageError;

/// Appended to the description of a migration recorded, not run.
const BASELINE: &str = " (baseline: adopted, not run)";

/// A row of `userhub_migrations`, the table of Userhub's earlier migrator.
#[derive(Debug)]
pub(super) struct LegacyRow {
    version: i64,
    checksum: String,
    baselined: bool,
    applied_at: String,
}

impl From<(i64, String, bool, String)> for LegacyRow {
    fn from((version, checksum, baselined, applied_at): (i64, String, bool, String)) -> Self {
        Self {
            version,
            checksum,
            baselined,
            applied_at,
        }
    }
}

/// A row to insert into `_sqlx_migrations`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Recorded {
    pub(super) version: i64,
    pub(super) description: String,
    pub(super) checksum: Vec<u8>,
    pub(super) installed_on: DateTime<Utc>,
}

/// What to record before sqlx's first run.
#[derive(Debug, Default)]
pub(super) struct Adoption {
    pub(super) rows: Vec<Recorded>,
    /// The schema migration recorded as a baseline of a reference database.
    pub(super) baselined: Option<i64>,
    /// The versions carried over from `userhub_migrations`.
    pub(super) carried_over: Vec<i64>,
}

/// Decides what to record, given the tables found among `alembic_version`,
/// `user` and `userhub_migrations` and the rows of the last one.
pub(super) fn plan(
    migrations: &[Migration],
    tables: &[String],
    legacy: &[LegacyRow],
    now: DateTime<Utc>,
) -> Result<Adoption, StorageError> {
    if !legacy.is_empty() {
        return carry_over(migrations, legacy, now);
    }
    let has = |name: &str| tables.iter().any(|t| t == name);
    match migrations.first() {
        Some(schema) if has("alembic_version") && has("user") => Ok(Adoption {
            rows: vec![recorded(schema, true, now)],
            baselined: Some(schema.version),
            carried_over: Vec::new(),
        }),
        _ => Ok(Adoption::default()),
    }
}

fn carry_over(
    migrations: &[Migration],
    legacy: &[LegacyRow],
    now: DateTime<Utc>,
) -> Result<Adoption, StorageError> {
    let mut adoption = Adoption::default();
    for row in legacy {
        let Some(m) = migrations.iter().find(|m| m.version == row.version) else {
            return Err(StorageError::Migration(format!(
                "userhub_migrations records migration {}, which this build does not know: the database was migrated by a newer Userhub",
                row.version
            )));
        };
        let expected = legacy_checksum(&m.sql);
        if row.checksum != expected {
            return Err(StorageError::Migration(format!(
                "migration {} ({}) was changed after it was applied: userhub_migrations records checksum {}, this build's is {expected}; refusing to carry it over",
                m.version, m.description, row.checksum
            )));
        }
        let installed_on =
            DateTime::parse_from_rfc3339(&row.applied_at).map_or(now, |at| at.with_timezone(&Utc));
        adoption.rows.push(recorded(m, row.baselined, installed_on));
        adoption.carried_over.push(m.version);
    }
    Ok(adoption)
}

fn recorded(m: &Migration, baseline: bool, installed_on: DateTime<Utc>) -> Recorded {
    Recorded {
        version: m.version,
        description: if baseline {
            format!("{}{BASELINE}", m.description)
        } else {
            m.description.to_string()
        },
        checksum: m.checksum.to_vec(),
        installed_on,
    }
}

/// The checksum Userhub's earlier migrator recorded: FNV-1a over the SQL
/// text, as 16 hex digits.
fn legacy_checksum(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sqlx::migrate::MigrationType;

    use super::*;

    fn migrations() -> Vec<Migration> {
        [
            (1, "schema", "CREATE TABLE t (x INT);"),
            (2, "index", "CREATE INDEX i ON t (x);"),
        ]
        .into_iter()
        .map(|(v, d, sql)| Migration::new(v, d.into(), MigrationType::Simple, sql.into(), false))
        .collect()
    }

    fn tables(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn legacy(version: i64, checksum: String, baselined: bool) -> LegacyRow {
        LegacyRow::from((
            version,
            checksum,
            baselined,
            "2026-01-02T03:04:05.123456+00:00".to_owned(),
        ))
    }

    #[test]
    fn legacy_checksum_is_fnv1a() {
        assert_eq!(legacy_checksum(""), "cbf29ce484222325");
        assert_eq!(legacy_checksum("a"), "af63dc4c8601ec8c");
    }

    #[test]
    fn a_fresh_database_records_nothing() {
        let now = Utc::now();
        for found in [
            tables(&[]),
            tables(&["user"]),
            tables(&["userhub_migrations"]),
        ] {
            let adoption = plan(&migrations(), &found, &[], now).unwrap();
            assert!(
                adoption.rows.is_empty() && adoption.baselined.is_none(),
                "{found:?}"
            );
        }
    }

    #[test]
    fn a_reference_database_gets_its_schema_as_baseline() {
        let now = Utc::now();
        let ms = migrations();
        let adoption = plan(&ms, &tables(&["user", "alembic_version"]), &[], now).unwrap();
        assert_eq!(adoption.baselined, Some(1));
        assert!(adoption.carried_over.is_empty());
        assert_eq!(
            adoption.rows,
            [Recorded {
                version: 1,
                description: "schema (baseline: adopted, not run)".into(),
                checksum: ms[0].checksum.to_vec(),
                installed_on: now,
            }]
        );
    }

    #[test]
    fn recorded_versions_are_carried_over_with_sqlx_checksums() {
        let ms = migrations();
        let rows = [
            legacy(1, legacy_checksum(&ms[0].sql), true),
            legacy(2, legacy_checksum(&ms[1].sql), false),
        ];
        let found = tables(&["user", "alembic_version", "userhub_migrations"]);
        let adoption = plan(&ms, &found, &rows, Utc::now()).unwrap();
        assert_eq!(adoption.carried_over, [1, 2]);
        assert_eq!(
            adoption.baselined, None,
            "baselined by the earlier migrator, not by this run"
        );
        let applied_at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z").unwrap();
        assert_eq!(
            adoption.rows,
            [
                Recorded {
                    version: 1,
                    description: "schema (baseline: adopted, not run)".into(),
                    checksum: ms[0].checksum.to_vec(),
                    installed_on: applied_at.into(),
                },
                Recorded {
                    version: 2,
                    description: "index".into(),
                    checksum: ms[1].checksum.to_vec(),
                    installed_on: applied_at.into(),
                },
            ]
        );
    }

    #[test]
    fn an_edited_or_unknown_recorded_migration_is_refused() {
        let ms = migrations();
        let found = tables(&["userhub_migrations"]);
        let edited = [legacy(1, legacy_checksum("CREATE TABLE t (y INT);"), false)];
        let err = plan(&ms, &found, &edited, Utc::now()).unwrap_err();
        assert!(
            err.to_string().contains("was changed after it was applied"),
            "{err}"
        );
        let newer = [
            legacy(1, legacy_checksum(&ms[0].sql), false),
            legacy(3, "0".repeat(16), false),
        ];
        let err = plan(&ms, &found, &newer, Utc::now()).unwrap_err();
        assert!(
            err.to_string().contains("migrated by a newer Userhub"),
            "{err}"
        );
    }
}
