//! Which `userhub` executable the rig runs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Where the `userhub` binary comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// `cargo build --release --bin userhub` (the default: what production runs).
    Release,
    /// `cargo build --bin userhub` (quick; argon2 is optimised in dev builds too).
    Debug,
    /// A binary built elsewhere, e.g. the static musl binary of `cargo xtask image`.
    Path(PathBuf),
}

impl Source {
    /// Consume `--release`, `--debug` or `--binary PATH` at `args[i]`; the number of args used.
    pub fn parse_flag(&mut self, args: &[String], i: usize) -> Result<usize> {
        match args[i].as_str() {
            "--release" => *self = Self::Release,
            "--debug" => *self = Self::Debug,
            "--binary" => {
                let path = args.get(i + 1).context("--binary needs a path")?;
                *self = Self::Path(PathBuf::from(path));
                return Ok(2);
            }
            _ => return Ok(0),
        }
        Ok(1)
    }

    pub fn label(&self) -> String {
        match self {
            Self::Release => "release build".into(),
            Self::Debug => "debug build".into(),
            Self::Path(path) => path.display().to_string(),
        }
    }

    /// Build (if needed) and copy the binary into `work`, so other checkouts
    /// sharing the target directory cannot replace it mid-run.
    pub fn obtain(&self, work: &Path) -> Result<PathBuf> {
        let built = match self {
            Self::Release => cmd::timed("build release userhub", || cmd::build_userhub(true))?,
            Self::Debug => cmd::timed("build debug userhub", || cmd::build_userhub(false))?,
            Self::Path(path) => {
                if !path.is_file() {
                    bail!("userhub binary {} does not exist", path.display());
                }
                path.clone()
            }
        };
        let copy = work.join("userhub");
        std::fs::copy(&built, &copy)
            .with_context(|| format!("copying {} to {}", built.display(), copy.display()))?;
        Ok(copy)
    }
}
