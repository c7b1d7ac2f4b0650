//! Finding the PostgreSQL server binaries on this machine.

use std::path::{Path, PathBuf};

use super::PostgresError;

/// Directories holding `initdb`, `pg_ctl` and `postgres`, in search order:
/// every `PATH` entry, `/usr/local/bin`, then `/usr/lib/postgresql/*/bin`
/// (highest version first).
pub fn default_search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/local/bin"));
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versioned.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    dirs.extend(versioned.into_iter().map(|(_, dir)| dir));
    dirs
}

/// The directory holding all of `initdb`, `pg_ctl` and `postgres`.
pub fn find_bin_dir(search: &[PathBuf]) -> Result<PathBuf, PostgresError> {
    for binary in ["initdb", "pg_ctl", "postgres"] {
        if !search.iter().any(|dir| is_file(&dir.join(binary))) {
            return Err(PostgresError::BinaryNotFound {
                binary,
                searched: search.to_vec(),
            });
        }
    }
    search
        .iter()
        .find(|dir| {
            ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|b| is_file(&dir.join(b)))
        })
        .cloned()
        .ok_or(PostgresError::BinaryNotFound {
            binary: "initdb, pg_ctl and postgres in one directory",
            searched: search.to_vec(),
        })
}

fn is_file(path: &Path) -> bool {
    path.metadata().map(|m| m.is_file()).unwrap_or(false)
}
