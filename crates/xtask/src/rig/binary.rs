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

/// `--release`, `--debug` or `--binary PATH` (one at most; the default is `--release`).
#[derive(Debug, Clone, Default, clap::Args)]
#[group(multiple = false)]
pub struct SourceArgs {
    /// Run a release build of `userhub` (the default: what production runs)
    #[arg(long)]
    release: bool,
    /// Run a debug build (quicker to build, slower server)
    #[arg(long)]
    debug: bool,
    /// Run this `userhub` binary, e.g. the static musl binary of `cargo xtask image`
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
}

impl SourceArgs {
    /// `--binary PATH`.
    pub fn path(path: PathBuf) -> Self {
        Self {
            binary: Some(path),
            ..Self::default()
        }
    }

    pub fn source(&self) -> Source {
        match (&self.binary, self.debug && !self.release) {
            (Some(path), _) => Source::Path(path.clone()),
            (None, true) => Source::Debug,
            (None, false) => Source::Release,
        }
    }
}

impl Source {
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
