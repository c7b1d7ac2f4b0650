#!/usr/bin/env python3
"""Repository rules for the Terraform under infra/, checked with python-hcl2.

    python terraform_rules.py DIR...      # check every .tf file below DIR
    python terraform_rules.py --self-test # the rules catch the bad fixtures

Rules:
  versions   every Terraform directory (root or module) declares
             required_version and, per provider, a source and a version
             pinned to a release line ("~> x.y" or an exact "= x.y.z");
             a bare lower bound (">= x") is not a pin
  variables  every variable has a type and a non-empty description;
             variables named like secrets are `sensitive` and have no default
  secrets    no literal value for a secret-like attribute (password, token,
             secret, access/private key), no AWS access key id or PEM key
  buckets    every aws_s3_bucket has server-side encryption, versioning and a
             public access block that refer to it
  backend    an s3 backend sets encrypt and use_lockfile
  skips      every `#checkov:skip=ID:reason` gives a reason of a few words
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

import hcl2

SECRET_NAME = re.compile(
    r"(^|_)(password|passwd|secret|token|api_key|access_key|secret_key|private_key|cipher_pass|key_secret)$", re.I
)
SECRET_LITERAL = [
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a PEM private key"),
    (re.compile(r"\bghp_[0-9A-Za-z]{36}\b"), "a GitHub token"),
]
CHECKOV_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")
PINNED = re.compile(r"^\s*(~>\s*\d+\.\d+(\.\d+)?|=?\s*\d+\.\d+\.\d+)\s*$")
COMPANIONS = {
    "aws_s3_bucket_server_side_encryption_configuration": "encryption",
    "aws_s3_bucket_versioning": "versioning",
    "aws_s3_bucket_public_access_block": "public access block",
}


def unwrap(value):
    """python-hcl2 wraps attribute values in one-element lists; undo that."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def blocks(document, kind):
    """(type, name, body) of every `resource`/`data` block, or (name, body) pairs."""
    for entry in document.get(kind, []):
        for type_name, named in entry.items():
            if kind in ("resource", "data"):
                for name, body in named.items():
                    yield type_name, name, body
            else:
                yield type_name, named


def is_literal(value):
    return isinstance(value, str) and "${" not in value and value.strip() != ""


def check_directory(directory, files):
    problems = []
    documents = {}
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                documents[path] = hcl2.load(handle)
        except Exception as error:  # python-hcl2 raises lark errors of many kinds
            problems.append(f"{path}: does not parse: {error}")
    terraform_blocks = [unwrap(b) for d in documents.values() for b in d.get("terraform", [])]
    if not terraform_blocks:
        problems.append(f"{directory}: no terraform block (required_version, required_providers)")
    for path, document in documents.items():
        for block in document.get("terraform", []):
            block = unwrap(block)
            version = unwrap(block.get("required_version"))
            if not isinstance(version, str) or not PINNED.match(version):
                problems.append(f"{path}: required_version {version!r} is not pinned to a release line")
            for providers in block.get("required_providers", []):
                for name, spec in unwrap(providers).items():
                    spec = unwrap(spec)
                    if not isinstance(spec, dict) or "source" not in spec:
                        problems.append(f"{path}: provider {name} has no source")
                        continue
                    pin = unwrap(spec.get("version"))
                    if not isinstance(pin, str) or not PINNED.match(pin):
                        problems.append(f"{path}: provider {name} version {pin!r} is not pinned")
            for backend in block.get("backend", []):
                for kind, settings in unwrap(backend).items():
                    settings = unwrap(settings)
                    if kind == "s3" and not (unwrap(settings.get("encrypt")) is True and unwrap(settings.get("use_lockfile")) is True):
                        problems.append(f"{path}: the s3 backend needs encrypt = true and use_lockfile = true")
        for name, body in blocks(document, "variable"):
            body = unwrap(body)
            if "type" not in body:
                problems.append(f"{path}: variable {name} has no type")
            description = unwrap(body.get("description"))
            if not isinstance(description, str) or not description.strip():
                problems.append(f"{path}: variable {name} has no description")
            if SECRET_NAME.search(name):
                if unwrap(body.get("sensitive")) is not True:
                    problems.append(f"{path}: variable {name} looks secret but is not sensitive = true")
                if "default" in body:
                    problems.append(f"{path}: secret variable {name} has a default")
        for kind in ("resource", "data", "provider", "module", "locals"):
            for entry in document.get(kind, []):
                walk_secrets(path, kind, entry, problems)
        text = Path(path).read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            skip = CHECKOV_SKIP.search(line)
            if skip and len((skip.group(2) or "").split()) < 4:
                problems.append(f"{path}:{number}: checkov skip {skip.group(1)} without a reason (#checkov:skip=ID:why)")
        for pattern, what in SECRET_LITERAL:
            if pattern.search(text):
                problems.append(f"{path}: contains {what}")

    # Buckets and the resources that must refer to them.
    buckets = {}
    companions = defaultdict(list)
    for path, document in documents.items():
        for type_name, name, body in blocks(document, "resource"):
            body = unwrap(body)
            if type_name == "aws_s3_bucket":
                buckets[name] = path
            elif type_name in COMPANIONS:
                target = " ".join(str(unwrap(body.get(key))) for key in ("bucket", "for_each"))
                companions[type_name].append(target)
    for bucket, path in buckets.items():
        reference = f"aws_s3_bucket.{bucket}"
        for type_name, what in COMPANIONS.items():
            if not any(re.search(re.escape(reference) + r"\b", target) for target in companions[type_name]):
                problems.append(f"{path}: bucket {bucket} has no {what} ({type_name}) referring to it")
    return problems


def walk_secrets(path, where, value, problems, key=""):
    value = unwrap(value)
    if isinstance(value, dict):
        for child_key, child in value.items():
            if child_key.startswith("__"):
                continue
            walk_secrets(path, where, child, problems, child_key)
    elif isinstance(value, list):
        for child in value:
            walk_secrets(path, where, child, problems, key)
    elif key and SECRET_NAME.search(key) and is_literal(value):
        problems.append(f"{path}: {where} sets {key} to a literal; take it from a sensitive variable")


def check(roots):
    problems = []
    directories = defaultdict(list)
    for root in roots:
        for path in sorted(Path(root).rglob("*.tf")):
            if ".terraform" in path.parts:
                continue
            directories[path.parent].append(path)
    if not directories:
        problems.append(f"no .tf files under {', '.join(map(str, roots))}")
    for directory, files in sorted(directories.items()):
        problems.extend(check_directory(directory, files))
    return directories, problems


def self_test():
    fixtures = Path(__file__).parent / "fixtures" / "terraform-bad"
    _, problems = check([fixtures])
    expected = [
        "required_version '>= 1.0' is not pinned",
        "provider aws version '>= 5.0' is not pinned",
        "variable region has no description",
        "variable size has no type",
        "variable db_password looks secret but is not sensitive",
        "secret variable db_password has a default",
        "sets password to a literal",
        "contains an AWS access key id",
        "bucket logs has no encryption",
        "bucket logs has no public access block",
        "the s3 backend needs encrypt = true and use_lockfile = true",
        "checkov skip CKV_AWS_18 without a reason",
    ]
    missing = [text for text in expected if not any(text in problem for problem in problems)]
    for text in missing:
        print(f"self-test: the rules did not report: {text}", file=sys.stderr)
    print(f"self-test: {len(expected) - len(missing)}/{len(expected)} planted violations reported")
    return 1 if missing else 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    directories, problems = check(argv)
    for problem in problems:
        print(problem, file=sys.stderr)
    files = sum(len(files) for files in directories.values())
    if problems:
        print(f"terraform rules: {len(problems)} problem(s) in {files} files", file=sys.stderr)
        return 1
    print(f"terraform rules: {files} files in {len(directories)} directories follow the rules")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
