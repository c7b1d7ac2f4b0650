//! A detached shell loop that stops a cluster once the process that started it is gone.
//!
//! Clusters held in statics are never dropped, and a test process can be
//! killed; the watchdog makes sure no `postgres` outlives its owner.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::PostgresError;
use super::os_user::RunAs;

/// Spawn the watchdog for the cluster in `data_dir`, owned by this process.
pub fn spawn(
    run_as: &RunAs,
    pg_ctl: &Path,
    data_dir: &Path,
    dir: PathBuf,
) -> Result<Child, PostgresError> {
    let script = format!(
        "while kill -0 {parent} 2>/dev/null && [ -f '{data}/PG_VERSION' ]; do sleep 0.5; done\n\
         if kill -0 {parent} 2>/dev/null; then exit 0; fi\n\
         if [ -f '{data}/postmaster.pid' ]; then {prefix}'{pg_ctl}' -D '{data}' -m immediate -w -t 30 stop; fi\n\
         rm -rf '{dir}'\n",
        parent = std::process::id(),
        data = data_dir.display(),
        prefix = run_as.shell_prefix(),
        pg_ctl = pg_ctl.display(),
        dir = dir.display(),
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| PostgresError::io("spawning the PostgreSQL watchdog (sh)", e))
}
