//! PostgreSQL clusters under the drill's control: stop and start on the
//! same port, `kill -9`, streaming replicas, promotion, WAL archiving.
//!
//! `cargo xtask load` uses the test kit's throwaway cluster; the drills need
//! to break theirs, so they run `initdb`/`pg_ctl` themselves. Unlike the
//! test kit's cluster (tuned for speed) these keep PostgreSQL's durable
//! defaults (`fsync`, `synchronous_commit`, `full_page_writes` on): the
//! drills test what production runs. As root, every command runs as the
//! `postgres` OS user (`runuser`), as PostgreSQL refuses root.

use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};
use userhub_testkit::postgres::{self, RunAs, default_search_dirs};

use crate::delivery::free_loopback_addr;

/// The directory holding initdb, pg_ctl, postgres, psql, pg_basebackup.
pub fn bin_dir() -> Result<PathBuf> {
    default_search_dirs()
        .into_iter()
        .find(|dir| {
            ["initdb", "pg_ctl", "postgres", "psql", "pg_basebackup"]
                .iter()
                .all(|b| dir.join(b).is_file())
        })
        .context("PostgreSQL server binaries (initdb, pg_ctl, postgres, psql, pg_basebackup) not found; install PostgreSQL 15")
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// A command run as the PostgreSQL OS user.
pub fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command.current_dir("/");
        command
    } else {
        Command::new(program)
    }
}

/// Give `path` (recursively) to the PostgreSQL OS user.
pub fn chown_postgres(path: &Path) -> Result<()> {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()?;
        if !status.success() {
            bail!("chown -R postgres {} failed", path.display());
        }
    }
    Ok(())
}

fn run(mut command: Command, what: &str) -> Result<Output> {
    let output = command
        .output()
        .with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

/// One cluster in `<work>/<name>`; stopped (immediate) on drop.
#[derive(Debug)]
pub struct Cluster {
    pub name: String,
    pub data: PathBuf,
    pub port: u16,
    pub log: PathBuf,
    bin: PathBuf,
    running: bool,
}

impl Cluster {
    /// `initdb` a new cluster with `settings` appended to postgresql.conf.
    pub fn init(work: &Path, name: &str, settings: &[(&str, String)]) -> Result<Self> {
        let bin = bin_dir()?;
        let dir = work.join(name);
        std::fs::create_dir_all(&dir)?;
        chown_postgres(work)?;
        let data = dir.join("data");
        // The test kit's initdb, without its `--no-sync`: drills keep durability.
        postgres::initdb(&RunAs::detect()?, &bin.join("initdb"), &dir, &data, &[])?;
        let cluster = Self::at(name, &bin, &data, &dir)?;
        cluster.configure(settings)?;
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
        )?;
        chown_postgres(&data)?;
        Ok(cluster)
    }

    /// A cluster whose data directory exists already (a restored backup, a base backup).
    pub fn at(name: &str, bin: &Path, data: &Path, dir: &Path) -> Result<Self> {
        let port = free_loopback_addr()?.port();
        Ok(Self {
            name: name.to_owned(),
            data: data.to_path_buf(),
            port,
            log: dir.join("postgres.log"),
            bin: bin.to_path_buf(),
            running: false,
        })
    }

    /// Append settings to postgresql.conf (later lines win).
    pub fn configure(&self, settings: &[(&str, String)]) -> Result<()> {
        let mut text = String::from(
            "\n# drill settings\nlisten_addresses = '127.0.0.1'\nmax_connections = 200\n",
        );
        text.push_str(&format!(
            "port = {}\nunix_socket_directories = '{}'\n",
            self.port,
            self.data.display()
        ));
        for (key, value) in settings {
            text.push_str(&format!("{key} = '{}'\n", value.replace('\'', "''")));
        }
        let conf = self.data.join("postgresql.conf");
        let mut existing = std::fs::read_to_string(&conf).unwrap_or_default();
        existing.push_str(&text);
        std::fs::write(&conf, existing).with_context(|| format!("writing {}", conf.display()))?;
        chown_postgres(&conf)
    }

    /// A streaming replica of `primary` (pg_basebackup), named for
    /// `synchronous_standby_names`.
    pub fn replica_of(primary: &Cluster, work: &Path, name: &str) -> Result<Self> {
        let dir = work.join(name);
        std::fs::create_dir_all(&dir)?;
        chown_postgres(&dir)?;
        let data = dir.join("data");
        let mut backup = as_postgres(&primary.bin.join("pg_basebackup"));
        backup
            .arg("-D")
            .arg(&data)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-X", "stream", "-c", "fast"]);
        run(backup, "pg_basebackup")?;
        // A standby; its primary_conninfo (with the application name that
        // synchronous_standby_names refers to) is set below.
        std::fs::write(data.join("standby.signal"), "")?;
        chown_postgres(&data.join("standby.signal"))?;
        let cluster = Self::at(name, &primary.bin, &data, &dir)?;
        cluster.configure(&[
            (
                "primary_conninfo",
                format!(
                    "host=127.0.0.1 port={} user=postgres application_name={name}",
                    primary.port
                ),
            ),
            // Once promoted it has no standby of its own to wait for.
            ("synchronous_standby_names", String::new()),
            ("archive_mode", "off".to_owned()),
        ])?;
        Ok(cluster)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// URL of `database` as the superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn start(&mut self) -> Result<()> {
        let mut start = as_postgres(&self.bin.join("pg_ctl"));
        start
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", "60", "start"]);
        if let Err(error) = run(start, &format!("pg_ctl start ({})", self.name)) {
            bail!(
                "{error:#}\nserver log:\n{}",
                super::process::tail(&self.log, 30)
            );
        }
        self.running = true;
        Ok(())
    }

    /// `pg_ctl stop -m fast|immediate`.
    pub fn stop(&mut self, mode: &str) -> Result<()> {
        let mut stop = as_postgres(&self.bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", mode, "-w", "-t", "60", "stop"]);
        run(stop, &format!("pg_ctl stop -m {mode} ({})", self.name))?;
        self.running = false;
        Ok(())
    }

    /// `kill -9` the postmaster and every server process it started, as a
    /// machine crash would end them.
    pub fn kill9(&mut self) -> Result<()> {
        let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .context("reading postmaster.pid")?;
        let pid = pid_file
            .lines()
            .next()
            .context("empty postmaster.pid")?
            .trim()
            .to_owned();
        let children = Command::new("pgrep").args(["-P", &pid]).output()?;
        let mut pids = vec![pid];
        pids.extend(
            String::from_utf8_lossy(&children.stdout)
                .split_whitespace()
                .map(str::to_owned),
        );
        let status = Command::new("kill").arg("-9").args(&pids).status()?;
        if !status.success() {
            bail!("kill -9 {pids:?} failed");
        }
        self.running = false;
        Ok(())
    }

    pub fn promote(&self) -> Result<()> {
        let mut promote = as_postgres(&self.bin.join("pg_ctl"));
        promote
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "60", "promote"]);
        run(promote, &format!("pg_ctl promote ({})", self.name))?;
        Ok(())
    }

    /// `psql -Atc sql` against `database`; trimmed output.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String> {
        let mut psql = as_postgres(&self.bin.join("psql"));
        psql.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            database,
        ])
        .args(["-v", "ON_ERROR_STOP=1", "-Atc", sql]);
        let output = run(psql, &format!("psql on {}", self.name))?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running && self.data.join("postmaster.pid").exists() {
            let _ = self.stop("immediate");
        }
    }
}
