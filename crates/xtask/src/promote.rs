//! `cargo xtask promote`: writes the image an environment runs.
//!
//! `cargo xtask promote staging sha256:<64 hex>` pins staging to a digest CI
//! just pushed and signed; `cargo xtask promote prod --from staging` copies
//! the digest staging runs to prod (never a rebuild, never a tag). Only
//! `deploy/environments/<env>/image.yaml` changes, so a promotion is one
//! small commit and a rollback is its `git revert`. The pipelines commit the
//! change and open the pull/merge request.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};

use crate::delivery::repo_root;

const PINNED_ENVIRONMENTS: &[&str] = &["staging", "prod"];

/// `cargo xtask promote ENV DIGEST` | `cargo xtask promote ENV --from SOURCE`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment to pin (staging or prod)
    pub env: String,
    /// The image digest, sha256:<64 lowercase hex>
    #[arg(required_unless_present = "from")]
    pub digest: Option<String>,
    /// Copy the digest this environment runs instead
    #[arg(long, value_name = "ENV", conflicts_with = "digest")]
    pub from: Option<String>,
}

pub fn run(args: &Args) -> Result<()> {
    let root = repo_root();
    let env = args.env.as_str();
    let digest = match (&args.from, &args.digest) {
        (Some(source), _) => read_digest(&root, source)?
            .with_context(|| format!("{source} has no digest to promote"))?,
        (None, Some(digest)) => digest.clone(),
        (None, None) => bail!("promote needs a digest or --from ENV"),
    };
    ensure!(
        PINNED_ENVIRONMENTS.contains(&env),
        "promote pins staging or prod (dev follows the main tag), got {env:?}"
    );
    ensure!(
        is_digest(&digest),
        "not an image digest: {digest:?} (expected sha256:<64 lowercase hex>)"
    );
    let path = image_file(&root, env);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let updated = pin(&text, &digest)?;
    if updated == text {
        println!("promote: {env} already runs {digest}");
    } else {
        fs::write(&path, updated)?;
        println!("promote: {env} now runs {digest}");
    }
    Ok(())
}

fn image_file(root: &Path, env: &str) -> std::path::PathBuf {
    root.join("deploy/environments")
        .join(env)
        .join("image.yaml")
}

/// The digest an environment runs, if it is pinned.
fn read_digest(root: &Path, env: &str) -> Result<Option<String>> {
    let path = image_file(root, env);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: serde_yaml::Value = serde_yaml::from_str(&text)?;
    Ok(doc
        .get("image")
        .and_then(|image| image.get("digest"))
        .and_then(serde_yaml::Value::as_str)
        .filter(|digest| is_digest(digest))
        .map(str::to_owned))
}

pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Rewrites the `digest:` and `tag:` lines of an image.yaml, keeping its
/// comments, so the promotion diff is those lines only.
pub fn pin(text: &str, digest: &str) -> Result<String> {
    let mut seen_digest = false;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if trimmed.starts_with("digest:") {
            out.push_str(&format!("{indent}digest: {digest}\n"));
            seen_digest = true;
        } else if trimmed.starts_with("tag:") {
            out.push_str(&format!("{indent}tag: \"\"\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    ensure!(seen_digest, "image.yaml has no `digest:` line to rewrite");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn recognises_digests_only() {
        assert!(is_digest(DIGEST));
        assert!(!is_digest("sha256:1234"));
        assert!(!is_digest(&DIGEST.to_uppercase()));
        assert!(!is_digest("latest"));
        assert!(!is_digest(&format!("{DIGEST}0")));
    }

    #[test]
    fn pinning_rewrites_digest_and_clears_the_tag_keeping_comments() {
        let text = "# written by promotion\nimage:\n  repository: ghcr.io/userhub/userhub\n  tag: main\n  digest: \"\"\n";
        let pinned = pin(text, DIGEST).unwrap();
        assert_eq!(
            pinned,
            format!(
                "# written by promotion\nimage:\n  repository: ghcr.io/userhub/userhub\n  tag: \"\"\n  digest: {DIGEST}\n"
            )
        );
        let doc: serde_yaml::Value = serde_yaml::from_str(&pinned).unwrap();
        assert_eq!(doc["image"]["digest"].as_str(), Some(DIGEST));
        assert!(pin("image:\n  tag: x\n", DIGEST).is_err());
    }

    #[test]
    fn the_pinned_environments_hold_a_digest() {
        for env in PINNED_ENVIRONMENTS {
            let digest = read_digest(&repo_root(), env).unwrap();
            assert!(digest.is_some(), "{env}/image.yaml must pin a digest");
        }
    }
}
