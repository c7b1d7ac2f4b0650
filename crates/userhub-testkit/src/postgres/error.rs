//! Why a throwaway PostgreSQL cluster could not be provided.

use std::path::PathBuf;

/// Everything that can go wrong while providing a test database.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// A PostgreSQL binary is missing from every place searched.
    #[error(
        "PostgreSQL binary `{binary}` not found; searched: {}. Install PostgreSQL 15 (initdb, pg_ctl, postgres) or set USERHUB_TEST_POSTGRES_URL to an existing server",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    BinaryNotFound {
        /// The binary looked for.
        binary: &'static str,
        /// Every directory that was searched, in order.
        searched: Vec<PathBuf>,
    },
    /// Running as root, but the `postgres` OS user that must own the cluster does not exist.
    #[error(
        "running as root and PostgreSQL refuses to run as root, but there is no `postgres` user in /etc/passwd to run it as ({0})"
    )]
    NoPostgresUser(String),
    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `initdb` exited unsuccessfully.
    #[error("initdb failed ({status}) for data directory {data_dir}:\n{stderr}")]
    Initdb {
        /// Exit status.
        status: String,
        /// Data directory that was being initialised.
        data_dir: PathBuf,
        /// Captured standard error and output of `initdb`.
        stderr: String,
    },
    /// The server did not start (after every port attempt).
    #[error(
        "PostgreSQL did not start on 127.0.0.1:{port} after {attempts} attempt(s): pg_ctl {status}\npg_ctl output:\n{output}\nserver log ({log}):\n{log_tail}"
    )]
    Start {
        /// The last port tried.
        port: u16,
        /// How many ports were tried.
        attempts: u32,
        /// `pg_ctl`'s exit status.
        status: String,
        /// `pg_ctl`'s output.
        output: String,
        /// Path of the server log.
        log: PathBuf,
        /// The end of the server log.
        log_tail: String,
    },
    /// The server started but did not answer queries in time.
    #[error(
        "PostgreSQL on 127.0.0.1:{port} did not accept connections within {seconds} s: {last_error}"
    )]
    Timeout {
        /// The port.
        port: u16,
        /// How long was waited.
        seconds: u64,
        /// The last connection error seen.
        last_error: String,
    },
    /// The shared per-process cluster failed to start earlier in this process.
    #[error("the shared test PostgreSQL cluster could not be started: {0}")]
    Shared(String),
    /// A database URL could not be understood.
    #[error("invalid PostgreSQL URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL (never holds a password in tests; printed as given).
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A SQL statement against the server failed.
    #[error("{context}: {source}")]
    Sql {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },
}

impl PostgresError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
