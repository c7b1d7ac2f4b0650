//! `cargo xtask commit_lint`: Conventional Commits for commit messages.
//!
//! Used by the `commit-msg` hook (`--file`) and by CI on a pull request's
//! commits (`--range BASE..HEAD`).

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::delivery::{cmd, repo_root};

/// Commit types accepted in the header (`type(scope)!: subject`).
pub const TYPES: &[&str] = &[
    "build", "chore", "ci", "docs", "feat", "fix", "perf", "refactor", "revert", "style", "test",
];
const MAX_HEADER: usize = 100;

/// Where the message comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A message being written (hook): autosquash prefixes are allowed.
    Local,
    /// Commits about to land: fixup!/squash! must have been squashed.
    Landing,
}

/// `cargo xtask commit_lint --file PATH | --message TEXT | --range BASE..HEAD`.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Args {
    /// A message being written (the commit-msg hook): autosquash prefixes allowed
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
    /// One message about to land
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    /// The commits of a pull or merge request
    #[arg(long, value_name = "BASE..HEAD")]
    pub range: Option<String>,
}

/// Entry point of `cargo xtask commit_lint`.
pub fn run(args: &Args) -> Result<()> {
    match (&args.file, &args.message, &args.range) {
        (Some(path), _, _) => {
            let raw = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
            check(&strip_comments(&raw), Mode::Local).map_err(|err| {
                anyhow::anyhow!(
                    "commit message rejected: {err}\nexpected `type(scope)!: subject` with type one of {}",
                    TYPES.join(", ")
                )
            })
        }
        (None, Some(message), _) => check(message, Mode::Landing),
        (None, None, Some(range)) => check_range(range),
        _ => bail!(
            "usage: cargo xtask commit_lint --file PATH | --message TEXT | --range BASE..HEAD"
        ),
    }
}

fn check_range(range: &str) -> Result<()> {
    let log = cmd::capture(Command::new("git").arg("-C").arg(repo_root()).args([
        "log",
        "--no-merges",
        "--format=%H%x00%B%x1e",
        range,
    ]))?;
    let mut failures = Vec::new();
    let mut count = 0;
    for entry in log.split('\x1e').map(str::trim).filter(|e| !e.is_empty()) {
        let (sha, message) = entry.split_once('\0').context("malformed git log entry")?;
        count += 1;
        if let Err(err) = check(message, Mode::Landing) {
            failures.push(format!("{}: {err}", &sha[..sha.len().min(12)]));
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} of {count} commits in {range} are not Conventional Commits:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    println!("commit_lint: {count} commits in {range} follow Conventional Commits");
    Ok(())
}

fn strip_comments(raw: &str) -> String {
    raw.lines()
        .take_while(|line| !line.starts_with("# ------------------------ >8"))
        .filter(|line| !line.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check(message: &str, mode: Mode) -> Result<()> {
    let message = message.trim();
    let mut lines = message.lines();
    let header = lines.next().unwrap_or_default().trim_end();
    if header.is_empty() {
        bail!("empty commit message");
    }
    if header.starts_with("Merge ") || header.starts_with("Revert \"") {
        return Ok(());
    }
    for prefix in ["fixup! ", "squash! ", "amend! "] {
        if let Some(rest) = header.strip_prefix(prefix) {
            if mode == Mode::Landing {
                bail!("{prefix:?} commit must be squashed before it lands: {header:?}");
            }
            return check(rest, mode);
        }
    }
    if header.chars().count() > MAX_HEADER {
        bail!("header is longer than {MAX_HEADER} characters: {header:?}");
    }
    let (kind, subject) = header
        .split_once(": ")
        .with_context(|| format!("header has no `type: subject` separator: {header:?}"))?;
    let kind = kind.strip_suffix('!').unwrap_or(kind);
    let (kind, scope) = match kind.split_once('(') {
        Some((kind, rest)) => {
            let scope = rest
                .strip_suffix(')')
                .with_context(|| format!("unclosed scope in {header:?}"))?;
            (kind, Some(scope))
        }
        None => (kind, None),
    };
    if !TYPES.contains(&kind) {
        bail!("unknown type {kind:?} in {header:?}");
    }
    if let Some(scope) = scope {
        let valid = !scope.is_empty()
            && scope
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./,".contains(c));
        if !valid {
            bail!("scope {scope:?} must be lowercase letters, digits or - _ . / ,");
        }
    }
    if subject.trim().is_empty() || subject.starts_with(' ') {
        bail!("empty subject in {header:?}");
    }
    if let Some(second) = lines.next()
        && !second.trim().is_empty()
    {
        bail!("the header must be followed by a blank line before the body");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(message: &str) -> bool {
        check(message, Mode::Landing).is_ok()
    }

    #[test]
    fn accepts_conventional_headers() {
        assert!(ok("feat(api): add items"));
        assert!(ok("fix: handle empty body"));
        assert!(ok(
            "feat(api)!: drop v0 routes\n\nBREAKING CHANGE: v0 is gone"
        ));
        assert!(ok("ci: pin actions by sha"));
        assert!(ok("docs(delivery,ci): explain releases"));
        assert!(ok("Merge branch 'delivery'"));
        assert!(ok("Revert \"feat: x\"\n\nThis reverts commit abc."));
    }

    #[test]
    fn rejects_other_headers() {
        assert!(!ok("added stuff"));
        assert!(!ok("feature: add items"));
        assert!(!ok("feat(API): shouting scope"));
        assert!(!ok("feat(): empty scope"));
        assert!(!ok("feat(api: unclosed"));
        assert!(!ok("feat:missing space"));
        assert!(!ok("feat:  "));
        assert!(!ok("feat: x\nbody without a blank line"));
        assert!(!ok(""));
        assert!(!ok(&format!("feat: {}", "x".repeat(120))));
    }

    #[test]
    fn autosquash_allowed_locally_but_not_when_landing() {
        assert!(check("fixup! feat: add items", Mode::Local).is_ok());
        assert!(check("fixup! not conventional", Mode::Local).is_err());
        assert!(check("fixup! feat: add items", Mode::Landing).is_err());
    }

    #[test]
    fn strips_git_comments_and_the_scissors_section() {
        let raw = "fix: x\n# Please enter the commit message\n# ------------------------ >8 ------------------------\ndiff --git a b\n";
        assert_eq!(strip_comments(raw), "fix: x");
        assert!(check(&strip_comments(raw), Mode::Local).is_ok());
    }
}
