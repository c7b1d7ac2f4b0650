//! One throwaway cluster: initdb, start, stop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

use tempfile::TempDir;

use super::binaries::{default_search_dirs, find_bin_dir};
use super::os_user::RunAs;
use super::{PostgresError, watchdog};

/// How many free ports are tried when another process grabs the chosen one first.
const PORT_ATTEMPTS: u32 = 5;

/// Settings for [`TestPostgres::start_with`].
#[derive(Debug, Clone)]
pub struct TestPostgresOptions {
    /// Directories searched for `initdb`, `pg_ctl` and `postgres`.
    pub search_dirs: Vec<PathBuf>,
    /// How long `pg_ctl start` may wait for the server to accept connections.
    pub start_timeout: Duration,
}

impl Default for TestPostgresOptions {
    fn default() -> Self {
        Self {
            search_dirs: default_search_dirs(),
            start_timeout: Duration::from_secs(60),
        }
    }
}

/// A running throwaway PostgreSQL cluster; stopped and deleted on drop.
#[derive(Debug)]
pub struct TestPostgres {
    dir: Option<TempDir>,
    data_dir: PathBuf,
    port: u16,
    pg_ctl: PathBuf,
    run_as: RunAs,
    watchdog: Option<Child>,
    running: bool,
}

impl TestPostgres {
    /// Start a cluster with the default options.
    pub fn start() -> Result<Self, PostgresError> {
        Self::start_with(TestPostgresOptions::default())
    }

    /// Start a cluster: find the binaries, `initdb`, `pg_ctl start` on a free port.
    #[tracing::instrument(skip_all)]
    pub fn start_with(options: TestPostgresOptions) -> Result<Self, PostgresError> {
        let bin_dir = find_bin_dir(&options.search_dirs)?;
        let run_as = RunAs::detect()?;
        let dir = tempfile::Builder::new()
            .prefix("userhub-pg-")
            .tempdir()
            .map_err(|e| PostgresError::io("creating a temporary directory for PostgreSQL", e))?;
        run_as.own(dir.path())?;
        let socket_dir = dir.path().join("sock");
        std::fs::create_dir(&socket_dir).map_err(|e| {
            PostgresError::io(format!("creating socket dir {}", socket_dir.display()), e)
        })?;
        run_as.own(&socket_dir)?;
        let data_dir = dir.path().join("data");

        initdb(
            &run_as,
            &bin_dir.join("initdb"),
            dir.path(),
            &data_dir,
            &["--no-sync"],
        )?;

        let mut cluster = Self {
            data_dir,
            port: 0,
            pg_ctl: bin_dir.join("pg_ctl"),
            run_as,
            watchdog: None,
            running: false,
            dir: Some(dir),
        };
        cluster.start_server(&socket_dir, options.start_timeout, None)?;
        cluster.watchdog = Some(watchdog::spawn(
            &cluster.run_as,
            &cluster.pg_ctl,
            &cluster.data_dir,
            cluster.dir().to_path_buf(),
        )?);
        tracing::info!(port = cluster.port, dir = %cluster.dir().display(), "test PostgreSQL started");
        Ok(cluster)
    }

    fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map(TempDir::path)
            .unwrap_or(Path::new("/"))
    }

    /// `pg_ctl -D <data dir>` as the PostgreSQL OS user, run from the cluster's directory.
    fn pg_ctl(&self) -> Command {
        let mut command = self.run_as.command(&self.pg_ctl);
        command
            .current_dir(self.dir())
            .arg("-D")
            .arg(&self.data_dir);
        command
    }

    /// Starts the server on `port`, or on a free port (retrying when another
    /// process grabs it first).
    fn start_server(
        &mut self,
        socket_dir: &Path,
        timeout: Duration,
        port: Option<u16>,
    ) -> Result<(), PostgresError> {
        let log = self.dir().join("postgres.log");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let fixed = port.is_some();
            let port = match port {
                Some(port) => port,
                None => free_port()?,
            };
            let server_options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                socket_dir.display()
            );
            let output = self
                .pg_ctl()
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", &timeout.as_secs().max(1).to_string(), "-o"])
                .arg(&server_options)
                .arg("start")
                .output()
                .map_err(|e| PostgresError::io(format!("running {}", self.pg_ctl.display()), e))?;
            if output.status.success() {
                self.port = port;
                self.running = true;
                return Ok(());
            }
            let log_tail = tail(&log, 40);
            let port_taken =
                log_tail.contains("could not bind") || log_tail.contains("already in use");
            if port_taken && !fixed && attempt < PORT_ATTEMPTS {
                tracing::warn!(port, "port taken before PostgreSQL could bind it; retrying");
                continue;
            }
            return Err(PostgresError::Start {
                port,
                attempts: attempt,
                status: output.status.to_string(),
                output: combined(&output),
                log,
                log_tail,
            });
        }
    }

    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// URL of the `postgres` database as superuser `postgres` (trust auth).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stop the server now (`pg_ctl stop -m fast`); dropping does this too.
    pub fn stop(&mut self) -> Result<(), PostgresError> {
        self.stop_mode("fast")
    }

    /// Stop the server as a crash would (`pg_ctl stop -m immediate`): every
    /// connection is cut at once, no checkpoint; [`Self::restart`] recovers.
    pub fn stop_immediate(&mut self) -> Result<(), PostgresError> {
        self.stop_mode("immediate")
    }

    /// Start a stopped cluster again, on the same port (clients reconnect
    /// to the URL they had).
    pub fn restart(&mut self) -> Result<(), PostgresError> {
        if self.running {
            return Ok(());
        }
        let socket_dir = self.dir().join("sock");
        self.start_server(&socket_dir, Duration::from_secs(60), Some(self.port))
    }

    fn stop_mode(&mut self, mode: &str) -> Result<(), PostgresError> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        let output = self
            .pg_ctl()
            .args(["-m", mode, "-w", "-t", "30", "stop"])
            .output()
            .map_err(|e| PostgresError::io(format!("running {} stop", self.pg_ctl.display()), e))?;
        if !output.status.success() {
            return Err(PostgresError::io(
                format!("pg_ctl stop on port {}", self.port),
                std::io::Error::other(combined(&output)),
            ));
        }
        Ok(())
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            eprintln!("userhub-testkit: could not stop test PostgreSQL: {error}");
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        if let Some(dir) = self.dir.take()
            && let Err(error) = dir.close()
        {
            eprintln!("userhub-testkit: could not remove test PostgreSQL directory: {error}");
        }
    }
}

/// `initdb` a cluster at `data_dir` (run from `cwd`) the way every Userhub
/// cluster is made: superuser `postgres` with trust authentication, UTF8,
/// C locale; `extra` arguments after these (`--no-sync` for a throwaway one).
pub fn initdb(
    run_as: &RunAs,
    initdb: &Path,
    cwd: &Path,
    data_dir: &Path,
    extra: &[&str],
) -> Result<(), PostgresError> {
    let output = run_as
        .command(initdb)
        .current_dir(cwd)
        .arg("-D")
        .arg(data_dir)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
        .args(extra)
        .output()
        .map_err(|e| PostgresError::io(format!("running {}", initdb.display()), e))?;
    if !output.status.success() {
        return Err(PostgresError::Initdb {
            status: output.status.to_string(),
            data_dir: data_dir.to_path_buf(),
            stderr: combined(&output),
        });
    }
    Ok(())
}

fn free_port() -> Result<u16, PostgresError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| PostgresError::io("binding 127.0.0.1:0 to find a free port", e))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| PostgresError::io("reading the free port", e))
}

fn combined(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}
