//! Records the git commit and rustc version for `userhub_build_info`.
//! `USERHUB_GIT_COMMIT` in the build environment (container builds without
//! `.git`: the Dockerfile passes its `REVISION` build argument) overrides the
//! git lookup; a full SHA is shortened to the 12 digits git prints.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=USERHUB_GIT_COMMIT");
    let commit = std::env::var("USERHUB_GIT_COMMIT")
        .ok()
        .map(|c| short_commit(c.trim()))
        .filter(|c| !c.is_empty() && c != "unknown")
        .or_else(|| output("git", &["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    // Rebuild when HEAD moves: HEAD itself (branch switch) and the branch ref
    // it points at (new commit).
    if let Some(head) = output("git", &["rev-parse", "--git-path", "HEAD"])
        && std::path::Path::new(&head).exists()
    {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(branch) = output("git", &["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = output("git", &["rev-parse", "--git-path", &branch])
        && std::path::Path::new(&path).exists()
    {
        println!("cargo:rerun-if-changed={path}");
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let rustc_version = output(&rustc, &["--version"])
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=USERHUB_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=USERHUB_RUSTC_VERSION={rustc_version}");
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// A full hexadecimal commit id shortened to 12 digits; anything else unchanged.
fn short_commit(commit: &str) -> String {
    if commit.len() > 12 && commit.chars().all(|c| c.is_ascii_hexdigit()) {
        commit[..12].to_ascii_lowercase()
    } else {
        commit.to_owned()
    }
}
