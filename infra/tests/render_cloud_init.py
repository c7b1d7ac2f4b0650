#!/usr/bin/env python3
"""Render every cloud-init user-data template under INFRA_DIR for `cloud-init schema`.

    python render_cloud_init.py INFRA_DIR OUT_DIR   # prints the rendered paths

Templates are Terraform `templatefile` files (*.yaml.tftpl whose first line
is #cloud-config). Only the interpolations the templates use are supported:
`${name}` and `${jsonencode(name)}`, filled from SAMPLE; an unknown name or
any other expression fails, so a template cannot drift from what is checked.
"""

import json
import re
import sys
from pathlib import Path

SAMPLE = {
    "hostname": "cp-1",
    "fqdn": "cp-1.staging.userhub.internal",
    "ssh_user": "ops",
    "ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnZkzGv2hQ8v0f5b0kZc0n1p0Yw5x1dC6S3e6p5b2sa ops@example.com"],
    "node_kind": "server",
    "environment": "staging",
}
EXPRESSION = re.compile(r"\$\{([^}]*)\}")


def render(text, path):
    def substitute(match):
        expression = match.group(1).strip()
        call = re.fullmatch(r"jsonencode\((\w+)\)", expression)
        name = call.group(1) if call else expression
        if name not in SAMPLE:
            raise SystemExit(f"{path}: unsupported interpolation ${{{expression}}}")
        value = SAMPLE[name]
        return json.dumps(value) if call else str(value)

    # $${...} is Terraform's escape for a literal ${...}; %{ } directives are not used.
    if "%{" in text:
        raise SystemExit(f"{path}: template directives (%{{ }}) are not supported by this check")
    return EXPRESSION.sub(substitute, text.replace("$${", "\0")).replace("\0", "${")


def main(infra, out):
    out.mkdir(parents=True, exist_ok=True)
    templates = sorted(p for p in infra.rglob("*.tftpl") if p.read_text(encoding="utf-8").startswith("#cloud-config"))
    for template in templates:
        target = out / (str(template.relative_to(infra)).replace("/", "__").removesuffix(".tftpl"))
        target.write_text(render(template.read_text(encoding="utf-8"), template), encoding="utf-8")
        print(target)
    return 0 if templates else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
