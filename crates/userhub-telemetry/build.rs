//! Records the git commit and rustc version for `userhub_build_info`.
//! `USERHUB_GIT_COMMIT` in the build environment (container builds without
//! `.git`) overrides the git lookup.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=USERHUB_GIT_COMMIT");
    let commit = std::env::var("USERHUB_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| output("git", &["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    if let Some(head) = output("git", &["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
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
