//! The deployment policies of `deploy/policies/` (Gatekeeper-style Rego)
//! evaluated with regorus, a Rego interpreter, against Kubernetes manifests.
//!
//! A policy is a package `userhub.<name>` with a `violation` set of
//! `{"msg": ...}` objects, reading the object under review from
//! `input.review.object` and the namespace's other objects from
//! `data.inventory.namespace[<ns>][<apiVersion>][<kind>][<name>]`, the shapes
//! Gatekeeper gives a ConstraintTemplate. The tests in `tests/` run every
//! policy against every rendered manifest and against its rejecting fixtures.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Value as Json, json};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The policy directory.
pub fn policy_dir() -> PathBuf {
    repo_root().join("deploy/policies")
}

/// Names of the policies (every `.rego` file except the shared `lib.rego`).
pub fn policy_names() -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(policy_dir()).context("reading deploy/policies")? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "rego")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            && stem != "lib"
        {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Parses a multi-document YAML text into JSON values (empty documents dropped).
pub fn documents(text: &str) -> Result<Vec<Json>> {
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = <serde_yaml::Value as serde::Deserialize>::deserialize(doc)?;
        if value.is_null() {
            continue;
        }
        docs.push(serde_json::to_value(value)?);
    }
    Ok(docs)
}

/// Gatekeeper's synced inventory for a set of namespaced objects.
pub fn inventory(objects: &[Json]) -> Json {
    let mut namespaces = serde_json::Map::new();
    for obj in objects {
        let (Some(ns), Some(api), Some(kind), Some(name)) = (
            obj.pointer("/metadata/namespace").and_then(Json::as_str),
            obj.get("apiVersion").and_then(Json::as_str),
            obj.get("kind").and_then(Json::as_str),
            obj.pointer("/metadata/name").and_then(Json::as_str),
        ) else {
            continue;
        };
        let by_ns = namespaces.entry(ns).or_insert_with(|| json!({}));
        by_ns[api][kind][name] = obj.clone();
    }
    json!({ "inventory": { "namespace": namespaces } })
}

/// A compiled policy set over one inventory.
pub struct Policies {
    engine: regorus::Engine,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies").finish_non_exhaustive()
    }
}

impl Policies {
    /// Loads `lib.rego` and every policy, with `data` as the inventory.
    pub fn load(data: &Json) -> Result<Self> {
        let mut engine = regorus::Engine::new();
        for entry in fs::read_dir(policy_dir())? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "rego") {
                let text = fs::read_to_string(&path)?;
                engine
                    .add_policy(path.display().to_string(), text)
                    .with_context(|| format!("compiling {}", path.display()))?;
            }
        }
        engine.add_data(regorus::Value::from_json_str(&data.to_string())?)?;
        Ok(Self { engine })
    }

    /// The violation messages of `policy` for `object`.
    pub fn violations(&mut self, policy: &str, object: &Json) -> Result<Vec<String>> {
        let input = json!({ "review": { "object": object }, "parameters": {} });
        self.engine
            .set_input(regorus::Value::from_json_str(&input.to_string())?);
        let result = self
            .engine
            .eval_rule(format!("data.userhub.{policy}.violation"))
            .with_context(|| format!("evaluating {policy}"))?;
        if result == regorus::Value::Undefined {
            return Ok(Vec::new());
        }
        let result: Json = serde_json::from_str(&result.to_json_str()?)?;
        let mut messages: Vec<String> = result
            .as_array()
            .map(|set| {
                set.iter()
                    .filter_map(|v| v.get("msg").and_then(Json::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        messages.sort();
        Ok(messages)
    }
}
