//! `cargo xtask k8s`: the Kubernetes packaging checked with real tools.
//!
//! 1. The chart's copies of the alert rules and the dashboard equal their
//!    single source in `observability/` (`--update` rewrites them).
//! 2. Helm (the v4 Go SDK through `helm-python-sdk`): strict lint, schema
//!    validation and offline render of the chart for every environment,
//!    compared with the checked-in snapshots (`--update-snapshots` rewrites
//!    them); every bad values file must be refused with its message.
//! 3. `kubernetes-validate --strict` on every rendered built-in kind, for the
//!    targeted Kubernetes minor and the chart's minimum.
//! 4. `check-jsonschema` on every custom resource (rendered, Argo CD,
//!    platform, database) against the schemas in `deploy/schemas/`, and every
//!    invalid fixture there must be refused.
//! 5. checkov on the rendered manifests (skips only with an inline reason).
//! 6. yamllint on the plain YAML under `deploy/`.
//!
//! The Rego policies run in the Rust tests of `crates/userhub-deploy-policies`
//! (part of `cargo xtask test`). Python tools live in `<target>/venv-k8s`,
//! pinned by `deploy/requirements-k8s.lock`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use serde::Deserialize;

use crate::delivery::{cmd, repo_root, target_dir};

/// The Kubernetes minor the manifests target, and the chart's `kubeVersion` floor.
pub const KUBE_VERSIONS: &[&str] = &["1.34.0", "1.31.0"];
/// Every Python package of the venv, pinned (generated from requirements-k8s.txt).
const LOCK: &str = "deploy/requirements-k8s.lock";
/// The installer, pinned like the tools.
const UV: &str = "uv==0.13.8";
const SCHEMA_CHECK: &str = "crates/xtask/k8s/schema_check.py";
const HELM_CHECK: &str = "crates/xtask/k8s/helm_check.py";
const INVALID_CRS: &str = "deploy/schemas/invalid";
/// Generated chart files and their single source.
pub const GENERATED: &[(&str, &str)] = &[
    (
        "observability/prometheus/rules/userhub.yml",
        "deploy/helm/userhub/files/prometheus/userhub.yml",
    ),
    (
        "observability/grafana/dashboards/userhub.json",
        "deploy/helm/userhub/files/dashboards/userhub.json",
    ),
];
/// Plain YAML (not templates) that yamllint checks.
const YAML_DIRS: &[&str] = &[
    "deploy/argocd",
    "deploy/environments",
    "deploy/platform",
    "deploy/helm/tests/bad-values",
    "deploy/schemas/invalid",
    "deploy/ci/kind-values.yaml",
    "deploy/ci/manifests",
];
const YAMLLINT_CONFIG: &str = "{extends: default, rules: {line-length: {max: 160}, \
     document-start: disable, truthy: {check-keys: false}, \
     comments: {min-spaces-from-content: 1}, comments-indentation: disable, \
     braces: {max-spaces-inside: 1}, brackets: {max-spaces-inside: 1}}}";

/// What `helm_check.py` rendered and split, by validator.
#[derive(Deserialize)]
struct Classes {
    builtin: Vec<String>,
    custom: BTreeMap<String, Vec<String>>,
    rendered: BTreeMap<String, String>,
}

/// `cargo xtask k8s [--update] [--update-snapshots]`.
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Regenerate the chart's files/ from observability/ (rules, dashboards) instead of checking them
    #[arg(long)]
    pub update: bool,
    /// Accept an intended render change: rewrite deploy/helm/tests/snapshots/
    #[arg(long)]
    pub update_snapshots: bool,
}

pub fn run(args: &Args) -> Result<()> {
    let (update_generated, update_snapshots) = (args.update, args.update_snapshots);
    let root = repo_root();
    let out = target_dir().join("k8s");
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    crate::cmd::timed("k8s: generated chart files", || {
        generated_files(&root, update_generated)
    })?;
    let venv = crate::cmd::timed("k8s: python tools", || ensure_venv(&root))?;
    let classes = crate::cmd::timed(
        "k8s: helm lint, schema, render, snapshots, bad values",
        || helm_check(&root, &venv, &out, update_snapshots),
    )?;
    crate::cmd::timed("k8s: kubernetes-validate --strict", || {
        kubernetes_validate(&venv, &classes)
    })?;
    crate::cmd::timed("k8s: custom resources against deploy/schemas", || {
        custom_resources(&root, &venv, &out, &classes)
    })?;
    crate::cmd::timed("k8s: checkov", || checkov(&venv, &out, &classes))?;
    crate::cmd::timed("k8s: yamllint", || yamllint(&root, &venv))?;
    println!(
        "k8s: all checks passed ({} built-in objects, {} custom resources, {} environments)",
        classes.builtin.len(),
        classes.custom.values().map(Vec::len).sum::<usize>(),
        classes.rendered.len()
    );
    Ok(())
}

/// The chart cannot read files outside itself, so the rules and the dashboard
/// are copied in; CI fails when a copy differs from its source.
pub fn generated_files(root: &Path, update: bool) -> Result<()> {
    let mut stale = Vec::new();
    for (source, copy) in GENERATED {
        let want = fs::read(root.join(source)).with_context(|| format!("reading {source}"))?;
        let have = fs::read(root.join(copy)).ok();
        if have.as_deref() == Some(want.as_slice()) {
            continue;
        }
        if update {
            let target = root.join(copy);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&target, &want).with_context(|| format!("writing {copy}"))?;
            println!("k8s: regenerated {copy} from {source}");
        } else {
            stale.push(format!("{copy} (from {source})"));
        }
    }
    ensure!(
        stale.is_empty(),
        "generated chart files differ from their source: {}; run `cargo xtask k8s --update` and commit",
        stale.join(", ")
    );
    Ok(())
}

/// `<target>/venv-k8s` with every package pinned by the lock file; rebuilt
/// when the lock changes. `uv` (itself pinned) installs the ~100 packages in
/// parallel without resolving, which keeps a cold run short; plain pip is the
/// fallback.
fn ensure_venv(root: &Path) -> Result<PathBuf> {
    let venv = target_dir().join("venv-k8s");
    let lock = fs::read_to_string(root.join(LOCK)).with_context(|| format!("reading {LOCK}"))?;
    let stamp = venv.join(".lock");
    let python = venv.join("bin/python");
    if fs::read_to_string(&stamp).ok().as_deref() == Some(lock.as_str()) && python.exists() {
        return Ok(venv);
    }
    let system_python = cmd::which("python3").context("python3 is needed for the k8s tools")?;
    if !python.exists() {
        let create = || cmd::run(Command::new(&system_python).args(["-m", "venv"]).arg(&venv));
        if create().is_err() {
            // Debian's python3 keeps `venv` (ensurepip) in a package of its own.
            eprintln!("k8s: python3 -m venv failed; installing python3-venv");
            let _ = fs::remove_dir_all(&venv);
            cmd::run(cmd::apt_get().args(["update", "-qq"]))?;
            cmd::run(cmd::apt_get().args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "python3-venv",
            ]))?;
            create()?;
        }
    }
    let pip = |args: &[&str]| {
        let mut command = Command::new(venv.join("bin/pip"));
        command.args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
        ]);
        command.args(args);
        command
    };
    let lock_path = root.join(LOCK);
    let lock_arg = lock_path.to_string_lossy();
    let with_uv = cmd::run(&mut pip(&[UV])).and_then(|()| {
        cmd::run(
            Command::new(venv.join("bin/uv"))
                .args(["pip", "install", "--quiet", "--no-deps", "--python"])
                .arg(&python)
                .args(["-r", &lock_arg]),
        )
    });
    if let Err(error) = with_uv {
        eprintln!("k8s: uv failed ({error:#}); installing with pip");
        cmd::run(&mut pip(&["--no-deps", "-r", &lock_arg]))?;
    }
    fs::write(&stamp, lock)?;
    Ok(venv)
}

fn helm_check(root: &Path, venv: &Path, out: &Path, update: bool) -> Result<Classes> {
    let mut command = Command::new(venv.join("bin/python"));
    command
        .arg(root.join(HELM_CHECK))
        .arg(root)
        .arg(out)
        .arg(KUBE_VERSIONS[0]);
    if update {
        command.arg("--update-snapshots");
    }
    let output = cmd::output(command.current_dir(root))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (report, last) = stdout.trim_end().rsplit_once('\n').unwrap_or(("", &stdout));
    println!("{report}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    ensure!(
        output.status.success(),
        "helm checks failed (see `helm: FAIL` lines above)"
    );
    serde_json::from_str(last.trim()).context("reading the helm check's classification")
}

fn kubernetes_validate(venv: &Path, classes: &Classes) -> Result<()> {
    ensure!(!classes.builtin.is_empty(), "nothing rendered to validate");
    for version in KUBE_VERSIONS {
        cmd::run(
            Command::new(venv.join("bin/kubernetes-validate"))
                .args(["--strict", "--quiet", "--kubernetes-version", version])
                .args(&classes.builtin),
        )
        .with_context(|| format!("built-in kinds against Kubernetes {version}"))?;
    }
    Ok(())
}

fn custom_resources(root: &Path, venv: &Path, out: &Path, classes: &Classes) -> Result<()> {
    let mut jobs: Vec<serde_json::Value> = classes
        .custom
        .iter()
        .map(|(schema, files)| serde_json::json!({"schema": schema, "files": files, "valid": true}))
        .collect();
    // Every schema must refuse at least one invalid fixture.
    let mut fixtures = Vec::new();
    for entry in fs::read_dir(root.join(INVALID_CRS))? {
        fixtures.push(entry?.path());
    }
    fixtures.sort();
    let mut refused = std::collections::BTreeSet::new();
    for path in fixtures {
        let text = fs::read_to_string(&path)?;
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let schema = schema_for(&doc).with_context(|| format!("{}", path.display()))?;
        ensure!(
            root.join(&schema).is_file(),
            "{}: no schema {schema}",
            path.display()
        );
        jobs.push(serde_json::json!({"schema": schema, "files": [path], "valid": false}));
        refused.insert(schema);
    }
    let missing: Vec<&String> = classes
        .custom
        .keys()
        .filter(|schema| !refused.contains(*schema))
        .collect();
    ensure!(
        missing.is_empty(),
        "schemas without an invalid fixture in {INVALID_CRS}: {missing:?}"
    );
    let jobs_file = out.join("schema-jobs.json");
    fs::write(&jobs_file, serde_json::to_vec_pretty(&jobs)?)?;
    cmd::run(
        Command::new(venv.join("bin/python"))
            .current_dir(root)
            .arg(root.join(SCHEMA_CHECK))
            .arg(&jobs_file),
    )
}

/// `deploy/schemas/<group>/<kind>_<version>.json` for a custom resource.
pub fn schema_for(doc: &serde_yaml::Value) -> Result<String> {
    let api_version = doc
        .get("apiVersion")
        .and_then(serde_yaml::Value::as_str)
        .context("no apiVersion")?;
    let kind = doc
        .get("kind")
        .and_then(serde_yaml::Value::as_str)
        .context("no kind")?;
    let (group, version) = api_version
        .rsplit_once('/')
        .context("a custom resource's apiVersion is group/version")?;
    Ok(format!(
        "deploy/schemas/{group}/{}_{version}.json",
        kind.to_lowercase()
    ))
}

fn checkov(venv: &Path, out: &Path, classes: &Classes) -> Result<()> {
    let mut command = Command::new(venv.join("bin/checkov"));
    command
        .args([
            "--framework",
            "kubernetes",
            "--quiet",
            "--compact",
            "--skip-download",
        ])
        .env("BC_SKIP_MAPPING", "TRUE")
        .current_dir(out);
    for file in classes.rendered.values() {
        command.arg("--file").arg(file);
    }
    cmd::run(&mut command)
}

fn yamllint(root: &Path, venv: &Path) -> Result<()> {
    cmd::run(
        Command::new(venv.join("bin/yamllint"))
            .current_dir(root)
            .args(["--strict", "-d", YAMLLINT_CONFIG])
            .args(YAML_DIRS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_resources_map_to_their_schema_file() {
        let doc: serde_yaml::Value =
            serde_yaml::from_str("apiVersion: postgresql.cnpg.io/v1\nkind: ScheduledBackup\n")
                .unwrap();
        assert_eq!(
            schema_for(&doc).unwrap(),
            "deploy/schemas/postgresql.cnpg.io/scheduledbackup_v1.json"
        );
        let core: serde_yaml::Value = serde_yaml::from_str("apiVersion: v1\nkind: Pod\n").unwrap();
        assert!(schema_for(&core).is_err());
    }

    #[test]
    fn the_chart_copies_of_rules_and_dashboard_are_current() {
        generated_files(&repo_root(), false).unwrap();
    }
}
