"""Helm checks for `cargo xtask k8s`, run with the Helm v4 Go SDK (helm-python-sdk).

For every environment: lint the chart (strict), validate the merged values
against values.schema.json, render it offline and compare the render with the
checked-in snapshot (or rewrite the snapshot with --update-snapshots). Every
bad values file must be refused with the message it announces. Finally the
rendered documents, the Argo CD manifests and the platform manifests are split
one document per file and classified: built-in kinds (for kubernetes-validate)
and custom resources (each with the JSON schema kept under deploy/schemas/).

Usage: helm_check.py ROOT OUT_DIR KUBE_VERSION [--update-snapshots]
Prints the classification as JSON on the last line of stdout.
"""

from __future__ import annotations

import copy
import difflib
import json
import sys
from pathlib import Path

import helm_python as helm
import yaml

ENVIRONMENTS = ("dev", "staging", "prod")
CHART = "deploy/helm/userhub"
ENV_DIR = "deploy/environments"
SNAPSHOTS = "deploy/helm/tests/snapshots"
BAD_VALUES = "deploy/helm/tests/bad-values"
SCHEMAS = "deploy/schemas"
RELEASE = "userhub"
# Further renders checked like the environments but without a snapshot:
# name -> (environment, extra values files).
EXTRA_RENDERS = {"kind": ("dev", ["deploy/ci/kind-values.yaml"])}
# Manifests applied by Argo CD outside the chart: validated like the render.
PLAIN_MANIFESTS = ("deploy/argocd", "deploy/platform/manifests", "deploy/ci/manifests") + tuple(
    f"{ENV_DIR}/{env}/database" for env in ENVIRONMENTS
)
# API groups served by Kubernetes itself (validated by kubernetes-validate).
BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
}


def merge(base: dict, overlay: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def env_values(root: Path, env: str) -> dict:
    values: dict = {}
    for name in ("values.yaml", "image.yaml"):
        values = merge(values, yaml.safe_load((root / ENV_DIR / env / name).read_text()) or {})
    return values


def render(chart: helm.Chart, values: dict, env: str) -> str:
    """Schema check then offline render; returns the documents as `helm template` prints them."""
    chart.validate_schema(chart.merge_values(values))
    rendered = chart.render(values, name=RELEASE, namespace=f"userhub-{env}", is_install=True)
    parts = []
    for path in sorted(rendered):
        text = rendered[path]
        if path.endswith("NOTES.txt"):
            continue
        for doc in text.split("\n---"):
            body = doc.strip("\n")
            if body.startswith("---"):
                body = body[3:].lstrip("\n")
            if not any(line.strip() and not line.lstrip().startswith("#") for line in body.splitlines()):
                continue
            parts.append(f"---\n# Source: {path}\n{body}\n")
    return "".join(parts)


def lint(root: Path, values: dict, env: str, kube_version: str) -> list[str]:
    report = helm.lint(
        str(root / CHART), values, strict=True, namespace=f"userhub-{env}", kube_version=kube_version
    )
    problems = [str(e) for e in report.get("errors") or []]
    problems += [
        f"{m['path']}: {m['error']}" for m in report.get("messages") or [] if m.get("severity", 0) >= 2
    ]
    return problems


def bad_values(root: Path, chart: helm.Chart) -> list[str]:
    """Each bad file names its base environment and a fragment of the expected refusal."""
    failures = []
    files = sorted((root / BAD_VALUES).glob("*.yaml"))
    if not files:
        return [f"no bad values files in {BAD_VALUES}"]
    for path in files:
        text = path.read_text()
        header = dict(
            line[2:].split(": ", 1) for line in text.splitlines() if line.startswith("# ") and ": " in line[:20]
        )
        base, expect = header.get("base"), header.get("expect")
        if base not in ENVIRONMENTS or not expect:
            failures.append(f"{path.name}: needs `# base: <env>` and `# expect: <message fragment>` header lines")
            continue
        values = merge(env_values(root, base), yaml.safe_load(text) or {})
        try:
            render(chart, values, base)
        except helm.HelmError as error:
            message = " ".join(str(error).split())
            if expect not in message:
                failures.append(f"{path.name}: refused, but the message lacks {expect!r}: {message}")
            else:
                print(f"helm: refused as expected {path.name}: {message[:300]}")
            continue
        failures.append(f"{path.name}: these values were ACCEPTED; they must be refused ({expect})")
    return failures


def split_documents(text: str, source: str, out: Path, classes: dict, problems: list[str]) -> None:
    for index, doc in enumerate(yaml.safe_load_all(text)):
        if not doc:
            continue
        api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
        name = (doc.get("metadata") or {}).get("name", "unnamed")
        if not api_version or not kind:
            problems.append(f"{source}: document {index} has no apiVersion/kind")
            continue
        group, _, version = api_version.rpartition("/")
        safe = source.replace("/", "_").replace(".yaml", "")
        target = out / f"{safe}-{index:02d}-{kind.lower()}-{name}.yaml"
        target.write_text(yaml.safe_dump(doc, sort_keys=False))
        if group in BUILTIN_GROUPS:
            classes["builtin"].append(str(target))
        else:
            schema = f"{SCHEMAS}/{group}/{kind.lower()}_{version}.json"
            classes["custom"].setdefault(schema, []).append(str(target))


def main() -> int:
    root, out, kube_version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    update = "--update-snapshots" in sys.argv[4:]
    chart = helm.Chart.load(str(root / CHART))
    failures: list[str] = []
    classes: dict = {"builtin": [], "custom": {}, "rendered": {}}
    split_dir = out / "documents"
    split_dir.mkdir(parents=True, exist_ok=True)
    for stale in split_dir.glob("*.yaml"):
        stale.unlink()
    for env in ENVIRONMENTS:
        values = env_values(root, env)
        failures += [f"lint {env}: {p}" for p in lint(root, values, env, kube_version)]
        try:
            text = render(chart, values, env)
        except helm.HelmError as error:
            failures.append(f"render {env}: {error}")
            continue
        rendered = out / f"{env}.yaml"
        rendered.write_text(text)
        classes["rendered"][env] = str(rendered)
        snapshot = root / SNAPSHOTS / f"{env}.yaml"
        old = snapshot.read_text() if snapshot.exists() else ""
        if update:
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            snapshot.write_text(text)
            print(f"helm: snapshot {snapshot.relative_to(root)} {'unchanged' if old == text else 'UPDATED'}")
        elif old != text:
            diff = "".join(
                difflib.unified_diff(
                    old.splitlines(True), text.splitlines(True), f"{SNAPSHOTS}/{env}.yaml", f"render of {env}"
                )
            )
            print(diff[:20000])
            failures.append(
                f"render of {env} differs from {SNAPSHOTS}/{env}.yaml (diff above); if the change is intended,"
                " run `cargo xtask k8s --update-snapshots` and commit the snapshot"
            )
        split_documents(text, f"render-{env}", split_dir, classes, failures)
        print(f"helm: {env}: lint ok, schema ok, {text.count('# Source:')} documents rendered")
    for name, (env, extra) in EXTRA_RENDERS.items():
        values = env_values(root, env)
        for path in extra:
            values = merge(values, yaml.safe_load((root / path).read_text()) or {})
        failures += [f"lint {name}: {p}" for p in lint(root, values, env, kube_version)]
        try:
            text = render(chart, values, env)
        except helm.HelmError as error:
            failures.append(f"render {name}: {error}")
            continue
        split_documents(text, f"render-{name}", split_dir, classes, failures)
        print(f"helm: {name} ({env} + {', '.join(extra)}): lint ok, schema ok, {text.count('# Source:')} documents rendered")
    failures += bad_values(root, chart)
    for directory in PLAIN_MANIFESTS:
        for path in sorted((root / directory).rglob("*.yaml")):
            rel = str(path.relative_to(root))
            split_documents(path.read_text(), rel, split_dir, classes, failures)
    for schema in classes["custom"]:
        if not (root / schema).is_file():
            failures.append(f"no JSON schema {schema} for the custom resources {classes['custom'][schema]}")
    for failure in failures:
        print(f"helm: FAIL {failure}", file=sys.stderr)
    print(json.dumps(classes))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
