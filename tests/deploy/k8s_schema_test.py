#!/usr/bin/python3
"""Every object of deploy/k8s, base and every overlay after kustomize,
validated against the Kubernetes OpenAPI schemas, offline.

Usage: k8s_schema_test.py REPO_ROOT WORK_DIR

  1. Setup (the test's own, idempotent): Node.js >= 18 and npm must be on
     PATH; when they are not, Debian's nodejs and npm are installed with
     scripts/deps' dwae_apt_install (root or sudo). The npm packages pinned
     in tests/deploy/k8s-schema/package-lock.json (kubernetes-models and
     @kubernetes-models/prometheus-operator) are installed with `npm ci` into
     WORK_DIR (the build tree), not the source tree, and again only when the
     lock file changed.
  2. Renders deploy/k8s/base and each overlay: `kubectl kustomize` when
     kubectl is installed, else kustomize_lite.py (deploy_manifests_test
     checks that the two agree where both exist).
  3. A self-check first: objects with a wrong type, a missing required field
     and an unknown kind must be reported invalid, so this test can fail.
  4. Validates every rendered object with validate.mjs; each must have a
     schema and pass it. Prints the objects and "validated N objects".
"""

import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kustomize_lite  # noqa: E402  (this directory)

import yaml  # noqa: E402

MIN_NODE_MAJOR = 18


def log(msg):
    print(msg, flush=True)


def node_major():
    node = shutil.which("node")
    if node is None:
        return 0
    out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    try:
        return int(out.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


def setup(root, work, package="k8s-schema"):
    """Node, npm and the packages pinned in tests/deploy/PACKAGE in
    WORK/node_modules, with PACKAGE's validate.mjs beside them (also used by
    compose_schema_test.py)."""
    if node_major() < MIN_NODE_MAJOR or shutil.which("npm") is None:
        log("setup: installing Debian's nodejs and npm")
        subprocess.run(["bash", "-c", "source scripts/deps && dwae_apt_install nodejs npm"],
                       cwd=root, check=True)
    if node_major() < MIN_NODE_MAJOR:
        raise RuntimeError(f"Node.js >= {MIN_NODE_MAJOR} is needed, found {node_major() or 'none'}")
    src = os.path.join(root, "tests", "deploy", package)
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(src, "package-lock.json"), encoding="utf-8") as f:
        lock = f.read()
    stamp = os.path.join(work, "node_modules", ".dwae-lock")
    if not os.path.isfile(stamp) or open(stamp, encoding="utf-8").read() != lock:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(os.path.join(src, name), os.path.join(work, name))
        log(f"setup: npm ci in {work}")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=work, check=True)
        with open(stamp, "w", encoding="utf-8") as f:
            f.write(lock)
    # Next to node_modules, so that its imports resolve there.
    shutil.copyfile(os.path.join(src, "validate.mjs"), os.path.join(work, "validate.mjs"))


def render(kdir):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return kustomize_lite.render(kdir), "kustomize_lite"
    proc = subprocess.run([kubectl, "kustomize", kdir], capture_output=True, text=True,
                          timeout=60, check=True)
    return [d for d in yaml.safe_load_all(proc.stdout) if d is not None], "kubectl kustomize"


def validate(work, entries):
    path = os.path.join(work, "objects.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(entries, f)
    proc = subprocess.run(["node", os.path.join(work, "validate.mjs"), path],
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


def self_check(work):
    """The validator must reject what it exists to catch."""
    bad = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "wrong-type"},
         "spec": {"ports": [{"port": "fifty"}]}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "missing-field"},
         "spec": {"selector": {}, "serviceName": "x",
                  "template": {"spec": {"containers": [{"image": "no-name"}]}}}},
        {"apiVersion": "example.com/v1", "kind": "Unknown", "metadata": {"name": "no-schema"}},
    ]
    ok = True
    for obj in bad:
        rc, out = validate(work, [{"source": "self-check", "object": obj}])
        rejected = rc != 0 and "INVALID" in out
        log(f"{'PASS' if rejected else 'FAIL'}  self-check rejects {obj['metadata']['name']}: "
            f"{out.strip().splitlines()[1].strip() if rejected else out.strip()}")
        ok = ok and rejected
    return ok


def main():
    if len(sys.argv) != 3:
        print("usage: k8s_schema_test.py REPO_ROOT WORK_DIR", file=sys.stderr)
        return 2
    root, work = (os.path.abspath(a) for a in sys.argv[1:])
    try:
        setup(root, work)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        log(f"FAIL  setup: {e}")
        return 1
    ok = self_check(work)
    k8s = os.path.join(root, "deploy", "k8s")
    entries = []
    for dirpath, _, files in sorted(os.walk(k8s)):
        if "kustomization.yaml" not in files:
            continue
        name = os.path.relpath(dirpath, root)
        try:
            docs, how = render(dirpath)
        except (kustomize_lite.KustomizeError, subprocess.SubprocessError, OSError) as e:
            log(f"FAIL  render {name}: {e}")
            ok = False
            continue
        log(f"rendered {name} with {how}: {len(docs)} objects")
        entries += [{"source": name, "object": d} for d in docs]
    rc, out = validate(work, entries)
    log(out.rstrip())
    ok = ok and rc == 0 and bool(entries)
    log(f"{'PASS' if ok else 'FAIL'}  {len(entries)} objects of deploy/k8s against the schemas")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
