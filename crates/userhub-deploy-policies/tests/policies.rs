//! Every policy against every rendered manifest (the checked-in snapshots,
//! which `cargo xtask k8s` proves equal to the current render) and against
//! its fixtures, each of which it must reject with the announced message.

use std::fs;

use serde_json::Value as Json;
use userhub_deploy_policies::{
    Policies, documents, inventory, policy_dir, policy_names, repo_root,
};

const ENVIRONMENTS: &[&str] = &["dev", "staging", "prod"];

fn snapshot(env: &str) -> Vec<Json> {
    let path = repo_root().join(format!("deploy/helm/tests/snapshots/{env}.yaml"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    documents(&text).expect("snapshot parses")
}

fn name(obj: &Json) -> String {
    format!(
        "{}/{}",
        obj["kind"].as_str().unwrap_or("?"),
        obj["metadata"]["name"].as_str().unwrap_or("?")
    )
}

#[test]
fn every_rendered_manifest_passes_every_policy() {
    let names = policy_names().unwrap();
    assert!(names.len() >= 7, "policies found: {names:?}");
    for env in ENVIRONMENTS {
        let objects = snapshot(env);
        assert!(objects.len() > 20, "{env}: only {} objects", objects.len());
        let mut policies = Policies::load(&inventory(&objects)).unwrap();
        let mut workloads = 0;
        for obj in &objects {
            if matches!(obj["kind"].as_str(), Some("Deployment" | "Job")) {
                workloads += 1;
            }
            for policy in &names {
                let violations = policies.violations(policy, obj).unwrap();
                assert!(
                    violations.is_empty(),
                    "{env}: {} violates {policy}: {violations:?}",
                    name(obj)
                );
            }
        }
        assert_eq!(
            workloads, 3,
            "{env}: api, web and the migrate Job are checked"
        );
    }
}

/// Each fixture is `# expect: <message fragment>`, then the object under
/// review, then (optionally) the inventory objects.
#[test]
fn every_policy_rejects_its_fixtures() {
    let fixtures = policy_dir().join("fixtures");
    let mut rejected_by = std::collections::BTreeSet::new();
    let mut entries: Vec<_> = fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let policy = file.split("--").next().unwrap().to_owned();
        let text = fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .find_map(|line| line.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{file}: no `# expect:` line"))
            .to_owned();
        let objects = documents(&text).unwrap();
        let mut policies = Policies::load(&inventory(&objects)).unwrap();
        let violations = policies.violations(&policy, &objects[0]).unwrap();
        assert!(
            violations.iter().any(|v| v.contains(&expect)),
            "{file}: {policy} must reject it with {expect:?}, got {violations:?}"
        );
        rejected_by.insert(policy);
    }
    let names: std::collections::BTreeSet<String> = policy_names().unwrap().into_iter().collect();
    assert_eq!(
        rejected_by, names,
        "every policy needs a fixture it rejects (and every fixture a policy)"
    );
}

/// The fixtures are otherwise valid: the same object with the one fault fixed
/// passes, so each fixture fails for the announced reason only.
#[test]
fn a_compliant_workload_passes_every_policy() {
    let text = fs::read_to_string(
        policy_dir().join("fixtures/probes_present--no-liveness.yaml"),
    )
    .unwrap()
    .replace(
        "          readinessProbe:",
        "          livenessProbe: {httpGet: {path: /livez, port: 9464}}\n          readinessProbe:",
    );
    let mut objects = documents(&text).unwrap();
    let deployment = objects[0].clone();
    // Cover the pods with a default deny.
    let deny = serde_json::json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": "userhub-dev"},
        "spec": {"podSelector": {"matchLabels": deployment["spec"]["template"]["metadata"]["labels"].clone()},
                 "policyTypes": ["Ingress", "Egress"]}
    });
    objects.push(deny);
    let mut policies = Policies::load(&inventory(&objects)).unwrap();
    for policy in policy_names().unwrap() {
        let violations = policies.violations(&policy, &deployment).unwrap();
        assert!(violations.is_empty(), "{policy}: {violations:?}");
    }
}
