//! Who runs the PostgreSQL binaries: they refuse to run as root.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use super::PostgresError;

/// How PostgreSQL commands are launched.
#[derive(Debug, Clone)]
pub enum RunAs {
    /// Run directly as the current (non-root) user.
    Current,
    /// Running as root: run through `runuser -u postgres --` as this uid/gid.
    Postgres {
        /// uid of the `postgres` user.
        uid: u32,
        /// gid of the `postgres` user.
        gid: u32,
    },
}

impl RunAs {
    /// Decide from the effective uid of this process.
    pub fn detect() -> Result<Self, PostgresError> {
        let euid = std::fs::metadata("/proc/self")
            .map_err(|e| PostgresError::io("reading /proc/self to learn the effective uid", e))?
            .uid();
        if euid != 0 {
            return Ok(Self::Current);
        }
        let passwd = std::fs::read_to_string("/etc/passwd")
            .map_err(|e| PostgresError::NoPostgresUser(format!("cannot read /etc/passwd: {e}")))?;
        passwd
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                if fields.first() != Some(&"postgres") {
                    return None;
                }
                Some(Self::Postgres {
                    uid: fields.get(2)?.parse().ok()?,
                    gid: fields.get(3)?.parse().ok()?,
                })
            })
            .ok_or_else(|| PostgresError::NoPostgresUser("no `postgres:` entry".into()))
    }

    /// A command running `program` as the right user.
    pub fn command(&self, program: &Path) -> Command {
        match self {
            Self::Current => Command::new(program),
            Self::Postgres { .. } => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", "postgres", "--"]).arg(program);
                cmd
            }
        }
    }

    /// The same as a shell command prefix, for the watchdog script.
    pub fn shell_prefix(&self) -> &'static str {
        match self {
            Self::Current => "",
            Self::Postgres { .. } => "runuser -u postgres -- ",
        }
    }

    /// Give `path` to the user that runs PostgreSQL.
    pub fn own(&self, path: &Path) -> Result<(), PostgresError> {
        if let Self::Postgres { uid, gid } = self {
            std::os::unix::fs::chown(path, Some(*uid), Some(*gid)).map_err(|e| {
                PostgresError::io(format!("chown {} to postgres", path.display()), e)
            })?;
        }
        Ok(())
    }
}
