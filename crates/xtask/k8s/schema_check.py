"""Custom resources against deploy/schemas with check-jsonschema, in one process.

Usage: schema_check.py JOBS.json, where JOBS.json is a list of
{"schema": path, "files": [paths], "valid": bool}. Runs check-jsonschema's own
command line (`--schemafile SCHEMA FILES...`) for every job without starting a
Python interpreter each time; a job with "valid": false must be refused.
"""

from __future__ import annotations

import json
import sys

from check_jsonschema.cli.main_command import main as check_jsonschema


def run(args: list[str]) -> int:
    print("+ check-jsonschema " + " ".join(args), flush=True)
    code = check_jsonschema.main(args=args, prog_name="check-jsonschema", standalone_mode=False)
    sys.stdout.flush()
    return int(code or 0)


def main() -> int:
    jobs = json.load(open(sys.argv[1]))
    failures = []
    for job in jobs:
        code = run(["--schemafile", job["schema"], *job["files"]])
        if job["valid"] and code != 0:
            failures.append(f"{job['schema']}: refused {job['files']}")
        elif not job["valid"] and code == 0:
            failures.append(f"{job['schema']}: ACCEPTED {job['files']}, which it must refuse")
        elif not job["valid"]:
            print(f"schema: refused as expected {job['files'][0]}")
    for failure in failures:
        print(f"schema: FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
