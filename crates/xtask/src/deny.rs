//! `cargo xtask deny`: licenses, bans, sources and (where reachable) advisories.

use anyhow::{Context, Result};

use crate::cmd;

/// The cargo-deny release installed when missing (builds with Rust 1.95).
const CARGO_DENY_VERSION: &str = "0.20.2";

pub fn run() -> Result<()> {
    if !cmd::cargo_has("deny") {
        cmd::timed(&format!("install cargo-deny {CARGO_DENY_VERSION}"), || {
            let mut install = cmd::cargo();
            install.args([
                "install",
                "cargo-deny",
                "--locked",
                "--version",
                CARGO_DENY_VERSION,
            ]);
            cmd::run(install).context("installing cargo-deny")
        })?;
    }

    let mut check = cmd::cargo();
    check.args([
        "deny",
        "check",
        "--hide-inclusion-graph",
        "licenses",
        "bans",
        "sources",
    ]);
    cmd::run(check)?;

    let mut fetch = cmd::cargo();
    fetch.args(["deny", "fetch", "db"]);
    if cmd::run(fetch).is_err() {
        let line = "!".repeat(78);
        println!("{line}");
        println!("!! ADVISORIES NOT CHECKED: the RustSec advisory database could not be fetched");
        println!("!! (GitHub is unreachable from this machine). Licenses, bans and sources were");
        println!(
            "!! checked. `cargo deny check advisories` runs in hosted CI, where it is reachable."
        );
        println!("{line}");
        return Ok(());
    }
    let mut advisories = cmd::cargo();
    advisories.args(["deny", "check", "--hide-inclusion-graph", "advisories"]);
    cmd::run(advisories)
}
