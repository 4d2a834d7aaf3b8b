#!/usr/bin/env python3
"""Static and command-line checks of dwae's deployment files (deploy/).

Usage: python3 deploy_manifests_test.py REPO_ROOT

No container engine or cluster is needed. Checked:
  - yamllint -s (strict) on every *.yml / *.yaml below deploy/;
  - the Kubernetes manifests (deploy/k8s/base, and base and every overlay
    rendered: by `kubectl kustomize` when kubectl is installed, which must
    then agree with kustomize_lite.py, else by kustomize_lite.py): probes
    (native gRPC, or with dwaed's TLS on, exec probes running
    `dwae health --tls_ca`),
    resources, security context, Services against the StatefulSet's pods,
    PodMonitor, NetworkPolicy, PodDisruptionBudget, the kustomizations'
    references, the ConfigMap copy of deploy/dwaed.conf;
  - deploy/compose.yaml: dwaed's health check, ports, state volume, the
    Prometheus and Grafana mounts and the replay profile;
  - deploy/docker/Dockerfile: debian:12 stages, ./scripts/build, non-root
    USER, HEALTHCHECK, EXPOSE, ENTRYPOINT, and that its runtime packages are
    exactly the Debian packages owning what ldd reports for dwaed and dwae
    (when a build is found; skipped with a note otherwise);
  - the container's command lines, run directly: the Dockerfile's ENTRYPOINT
    (plus compose's extra flags) on loopback with a temporary state dir and
    deploy/dwaed.conf, its HEALTHCHECK, /metrics, the compose replay command,
    and a clean SIGTERM shutdown with a checkpoint (when binaries are found).

Each failure prints one line starting with FAIL; the last line is
"N passed, M failed"; the exit status is 1 when anything failed.
"""

import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kustomize_lite  # noqa: E402  (this directory)

try:
    import yaml
except ImportError:  # pragma: no cover
    print("FAIL: python3-yaml is not installed (./scripts/deps installs it)")
    print("0 passed, 1 failed")
    sys.exit(1)

PASSED = 0
FAILED = 0


def check(name, ok, why=""):
    """Records one check; prints a FAIL line with the reason when not ok."""
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"ok    {name}")
    else:
        FAILED += 1
        why = " | ".join(x.strip() for x in str(why).splitlines() if x.strip())
        print(f"FAIL  {name}: {why}")
    return ok


def note(text):
    print(f"note  {text}")


def rel(root, path):
    return os.path.relpath(path, root)


def load_yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# ---------------------------------------------------------------- yamllint --

def yaml_files(deploy):
    out = []
    for dirpath, _, files in os.walk(deploy):
        for f in files:
            if f.endswith((".yml", ".yaml")):
                out.append(os.path.join(dirpath, f))
    return sorted(out)


def check_yamllint(root):
    deploy = os.path.join(root, "deploy")
    files = yaml_files(deploy)
    yamllint = shutil.which("yamllint")
    if not check("yamllint is installed", yamllint is not None,
                 "yamllint not found on PATH (./scripts/deps installs it)"):
        return
    cmd = [yamllint, "-s", "-f", "parsable"]
    config = os.path.join(deploy, ".yamllint")
    if os.path.isfile(config):
        cmd += ["-c", config]
    proc = subprocess.run(cmd + files, capture_output=True, text=True, cwd=root)
    problems = {}
    for line in proc.stdout.splitlines():
        path = line.split(":", 1)[0]
        problems.setdefault(os.path.abspath(os.path.join(root, path)), []).append(line)
    if proc.returncode not in (0, 1, 2) or (proc.returncode != 0 and not problems):
        check("yamllint runs", False, proc.stderr.strip() or f"exit {proc.returncode}")
        return
    for f in files:
        lines = problems.get(os.path.abspath(f), [])
        check(f"yamllint -s {rel(root, f)}", not lines, "; ".join(lines))


# --------------------------------------------------------------- Kubernetes --

def selector_matches(selector, labels):
    """Whether a LabelSelector (matchLabels/matchExpressions) selects labels."""
    if not selector:
        return False  # an empty selector would select everything: too broad
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def effective(container, pod_sc, key):
    sc = container.get("securityContext") or {}
    if key in sc:
        return sc[key]
    return (pod_sc or {}).get(key)


def check_k8s_docs(docs, where, dockerfile_entrypoint, expect_replicas=None):
    """Structural checks on one set of Kubernetes objects."""
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d.get("kind"), []).append(d)
    sts_list = by_kind.get("StatefulSet", [])
    if not check(f"{where}: one StatefulSet", len(sts_list) == 1,
                 f"found {len(sts_list)}"):
        return
    sts = sts_list[0]
    spec = sts.get("spec") or {}
    tmpl = spec.get("template") or {}
    pod_labels = (tmpl.get("metadata") or {}).get("labels") or {}
    pod_spec = tmpl.get("spec") or {}
    pod_sc = pod_spec.get("securityContext") or {}
    containers = pod_spec.get("containers") or []
    name = sts["metadata"]["name"]

    check(f"{where}: StatefulSet {name} selector matches its pod labels",
          selector_matches(spec.get("selector"), pod_labels),
          f"selector {spec.get('selector')} vs labels {pod_labels}")
    if expect_replicas is not None:
        check(f"{where}: StatefulSet replicas == {expect_replicas}",
              spec.get("replicas") == expect_replicas, f"replicas {spec.get('replicas')}")
    check(f"{where}: pod seccompProfile RuntimeDefault",
          (pod_sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault"
          or all((c.get("securityContext") or {}).get("seccompProfile", {}).get("type")
                 == "RuntimeDefault" for c in containers),
          "neither the pod nor every container sets seccompProfile RuntimeDefault")

    container_ports = {}  # name -> number
    port_numbers = set()
    if not check(f"{where}: StatefulSet has containers", bool(containers), "no containers"):
        return
    for c in containers:
        cn = f"{where}: container {c.get('name')}"
        # dwaed's own TLS: native gRPC probes cannot speak it.
        tls = any(str(a).startswith("--tls_cert=") for a in c.get("args") or [])
        for p in c.get("ports") or []:
            if p.get("name"):
                container_ports[p["name"]] = p.get("containerPort")
            port_numbers.add(p.get("containerPort"))
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            pr = c.get(probe)
            if not check(f"{cn} has {probe}", isinstance(pr, dict) and pr, "missing"):
                continue
            if tls:
                cmd = (pr.get("exec") or {}).get("command") or []
                check(f"{cn} {probe} (TLS on) runs dwae health on 50051 with the CA",
                      cmd[:2] == ["/usr/local/bin/dwae", "health"]
                      and "--server=127.0.0.1:50051" in cmd
                      and any(a.startswith("--tls_ca=") for a in cmd)
                      and any(a.startswith("--tls_server_name=") for a in cmd),
                      f"probe is {pr}")
                continue
            grpc = pr.get("grpc")
            check(f"{cn} {probe} is a native gRPC probe on 50051",
                  isinstance(grpc, dict) and grpc.get("port") == 50051,
                  f"probe is {pr}")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                check(f"{cn} resources.{kind}.{r}", (res.get(kind) or {}).get(r) is not None,
                      "not set")
        check(f"{cn} runAsNonRoot", effective(c, pod_sc, "runAsNonRoot") is True,
              "runAsNonRoot is not true on the container or pod")
        uid = effective(c, pod_sc, "runAsUser")
        check(f"{cn} runAsUser 10001 (the image's user)", uid == 10001, f"runAsUser {uid}")
        sc = c.get("securityContext") or {}
        check(f"{cn} readOnlyRootFilesystem", sc.get("readOnlyRootFilesystem") is True,
              "readOnlyRootFilesystem is not true")
        check(f"{cn} allowPrivilegeEscalation false", sc.get("allowPrivilegeEscalation") is False,
              "allowPrivilegeEscalation is not false")
        drop = ((sc.get("capabilities") or {}).get("drop") or [])
        check(f"{cn} drops ALL capabilities", "ALL" in drop, f"drop {drop}")
        check(f"{cn} does not run privileged", not sc.get("privileged"), "privileged")

        # Same command line as the image's ENTRYPOINT.
        cmdline = list(c.get("command") or []) + list(c.get("args") or [])
        if dockerfile_entrypoint:
            if c.get("command"):
                want = dockerfile_entrypoint
            else:
                want = dockerfile_entrypoint[1:]
                cmdline = list(c.get("args") or [])
            # Extra flags may follow, as they may after the image's
            # ENTRYPOINT (e.g. the Kafka overlay's --kafka_*).
            check(f"{cn} command line is the Dockerfile ENTRYPOINT (+ flags)",
                  cmdline[:len(want)] == want
                  and all(a.startswith("--") for a in cmdline[len(want):]),
                  f"{cmdline} != {want} + flags")
        # Mounts: the state volume from the claim template, the config map.
        mounts = {m.get("mountPath"): m.get("name") for m in c.get("volumeMounts") or []}
        claims = {(t.get("metadata") or {}).get("name")
                  for t in spec.get("volumeClaimTemplates") or []}
        check(f"{cn} mounts a volumeClaimTemplate at /var/lib/dwae",
              mounts.get("/var/lib/dwae") in claims,
              f"/var/lib/dwae -> {mounts.get('/var/lib/dwae')}, claims {sorted(claims)}")
        vols = {v.get("name"): v for v in pod_spec.get("volumes") or []}
        cfg_vol = vols.get(mounts.get("/etc/dwae")) or {}
        cm_name = (cfg_vol.get("configMap") or {}).get("name")
        check(f"{cn} mounts the ConfigMap dwaed-config at /etc/dwae",
              cm_name is not None and cm_name.startswith("dwaed-config"),
              f"/etc/dwae volume {cfg_vol}")
        cms = [d["metadata"]["name"] for d in by_kind.get("ConfigMap", [])]
        if cms:  # rendered output: the (hashed) ConfigMap must exist
            check(f"{where}: the config volume's ConfigMap {cm_name} exists", cm_name in cms,
                  f"ConfigMaps: {cms}")
            for cm in by_kind.get("ConfigMap", []):
                if cm["metadata"]["name"] == cm_name:
                    check(f"{where}: ConfigMap {cm_name} has key dwaed.conf",
                          "dwaed.conf" in (cm.get("data") or {}), f"keys {list(cm.get('data') or {})}")
    check(f"{where}: container ports grpc=50051 and metrics=9464",
          container_ports.get("grpc") == 50051 and container_ports.get("metrics") == 9464,
          f"named ports {container_ports}")

    # Services.
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    headless = services.get(spec.get("serviceName"))
    if check(f"{where}: serviceName {spec.get('serviceName')!r} is a Service",
             headless is not None, f"Services: {sorted(services)}"):
        check(f"{where}: Service {spec.get('serviceName')} is headless (clusterIP None)",
              (headless.get("spec") or {}).get("clusterIP") == "None",
              f"clusterIP {(headless.get('spec') or {}).get('clusterIP')!r}")
    check(f"{where}: ClusterIP Service dwaed exists", "dwaed" in services,
          f"Services: {sorted(services)}")
    for sname, s in services.items():
        sspec = s.get("spec") or {}
        check(f"{where}: Service {sname} selects the dwaed pods",
              selector_matches({"matchLabels": sspec.get("selector") or {}}, pod_labels),
              f"selector {sspec.get('selector')} vs pod labels {pod_labels}")
        names = set()
        for p in sspec.get("ports") or []:
            tp = p.get("targetPort", p.get("port"))
            names.add(p.get("name"))
            ok = (tp in container_ports) if isinstance(tp, str) else (tp in port_numbers)
            check(f"{where}: Service {sname} port {p.get('name')} targetPort {tp} is a container port",
                  ok, f"container ports {container_ports}")
        check(f"{where}: Service {sname} serves grpc and metrics", {"grpc", "metrics"} <= names,
              f"ports {sorted(n for n in names if n)}")

    # PodMonitor.
    pms = by_kind.get("PodMonitor", [])
    if check(f"{where}: a PodMonitor exists", len(pms) >= 1, "none"):
        for pm in pms:
            pmn = pm["metadata"]["name"]
            check(f"{where}: PodMonitor {pmn} apiVersion monitoring.coreos.com/v1",
                  pm.get("apiVersion") == "monitoring.coreos.com/v1", pm.get("apiVersion"))
            pspec = pm.get("spec") or {}
            check(f"{where}: PodMonitor {pmn} selector matches the pods",
                  selector_matches(pspec.get("selector"), pod_labels),
                  f"selector {pspec.get('selector')} vs {pod_labels}")
            eps = pspec.get("podMetricsEndpoints") or []
            check(f"{where}: PodMonitor {pmn} has endpoints", bool(eps), "none")
            for ep in eps:
                check(f"{where}: PodMonitor {pmn} port {ep.get('port')!r} is a container port",
                      ep.get("port") in container_ports, f"container ports {container_ports}")
                check(f"{where}: PodMonitor {pmn} path /metrics",
                      ep.get("path", "/metrics") == "/metrics", f"path {ep.get('path')}")
                jobs = [r.get("replacement") for r in ep.get("relabelings") or []
                        if r.get("targetLabel") == "job"]
                check(f"{where}: PodMonitor {pmn} sets job=\"dwae\" (the alert rules' job)",
                      jobs == ["dwae"], f"job relabelings {jobs}")

    # NetworkPolicy.
    nps = by_kind.get("NetworkPolicy", [])
    if check(f"{where}: a NetworkPolicy exists", len(nps) >= 1, "none"):
        for np_ in nps:
            npn = np_["metadata"]["name"]
            nspec = np_.get("spec") or {}
            check(f"{where}: NetworkPolicy {npn} podSelector matches the pods",
                  selector_matches(nspec.get("podSelector"), pod_labels),
                  f"podSelector {nspec.get('podSelector')} vs {pod_labels}")
            grpc_from, metrics_from = [], []
            for rule in nspec.get("ingress") or []:
                ports = {p.get("port") for p in rule.get("ports") or []}
                if ports & {50051, "grpc"}:
                    grpc_from += rule.get("from") or []
                if ports & {9464, "metrics"}:
                    metrics_from += rule.get("from") or []
            check(f"{where}: NetworkPolicy {npn} admits dwae-client=true pods to 50051",
                  any((peer.get("podSelector") or {}).get("matchLabels", {}).get("dwae-client") == "true"
                      for peer in grpc_from), f"50051 peers {grpc_from}")
            check(f"{where}: NetworkPolicy {npn} admits the monitoring namespace to 9464",
                  any((peer.get("namespaceSelector") or {}).get("matchLabels", {})
                      .get("kubernetes.io/metadata.name") == "monitoring" for peer in metrics_from),
                  f"9464 peers {metrics_from}")
            check(f"{where}: NetworkPolicy {npn} does not open 50051/9464 to everyone",
                  all(peer for peer in grpc_from + metrics_from) and grpc_from and metrics_from,
                  "an ingress rule without 'from' peers admits every source")

    # PodDisruptionBudget.
    pdbs = by_kind.get("PodDisruptionBudget", [])
    if check(f"{where}: a PodDisruptionBudget exists", len(pdbs) >= 1, "none"):
        for pdb in pdbs:
            check(f"{where}: PodDisruptionBudget {pdb['metadata']['name']} selects the pods",
                  selector_matches((pdb.get("spec") or {}).get("selector"), pod_labels),
                  f"selector {(pdb.get('spec') or {}).get('selector')}")


def kustomizations(k8s):
    out = []
    for dirpath, _, files in os.walk(k8s):
        for f in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            if f in files:
                out.append(os.path.join(dirpath, f))
    return sorted(out)


def base_objects(kdir):
    """The (kind, name) pairs a kustomization directory defines, recursively."""
    kfile = next((os.path.join(kdir, f) for f in ("kustomization.yaml", "kustomization.yml")
                  if os.path.isfile(os.path.join(kdir, f))), None)
    if kfile is None:
        return set()
    k = load_yaml_docs(kfile)[0]
    objs = set()
    for r in k.get("resources") or []:
        p = os.path.normpath(os.path.join(kdir, r))
        if os.path.isdir(p):
            objs |= base_objects(p)
        elif os.path.isfile(p):
            for d in load_yaml_docs(p):
                objs.add((d.get("kind"), (d.get("metadata") or {}).get("name")))
    for g in k.get("configMapGenerator") or []:
        objs.add(("ConfigMap", g.get("name")))
    return objs


def check_kustomizations(root):
    k8s = os.path.join(root, "deploy", "k8s")
    kfiles = kustomizations(k8s)
    check("deploy/k8s/base has a kustomization",
          os.path.join(k8s, "base", "kustomization.yaml") in kfiles, f"found {kfiles}")
    overlays = [f for f in kfiles if os.sep + "overlays" + os.sep in f]
    check("deploy/k8s/overlays has at least one overlay", bool(overlays), "none")
    for kf in kfiles:
        kdir = os.path.dirname(kf)
        name = rel(root, kf)
        try:
            k = load_yaml_docs(kf)[0]
        except Exception as e:  # noqa: BLE001
            check(f"{name} parses", False, str(e))
            continue
        for r in k.get("resources") or []:
            p = os.path.normpath(os.path.join(kdir, r))
            ok = os.path.isfile(p) or (os.path.isdir(p) and any(
                os.path.isfile(os.path.join(p, f)) for f in ("kustomization.yaml", "kustomization.yml")))
            check(f"{name}: resource {r} exists", ok, f"{rel(root, p)} is not a file or kustomization")
        for p in k.get("patches") or []:
            if "path" in p:
                check(f"{name}: patch {p['path']} exists",
                      os.path.isfile(os.path.join(kdir, p["path"])), "missing")
            t = p.get("target") or {}
            if t.get("kind") and t.get("name"):
                objs = set()
                for r in k.get("resources") or []:
                    rp = os.path.normpath(os.path.join(kdir, r))
                    objs |= base_objects(rp) if os.path.isdir(rp) else set()
                check(f"{name}: patch target {t['kind']}/{t['name']} exists in its resources",
                      (t["kind"], t["name"]) in objs, f"objects {sorted(objs)}")
        for g in k.get("configMapGenerator") or []:
            for f in g.get("files") or []:
                src = f.split("=", 1)[-1]
                check(f"{name}: configMapGenerator file {src} exists",
                      os.path.isfile(os.path.join(kdir, src)), "missing")
        if kf in overlays:
            check(f"{name}: references ../../base",
                  "../../base" in (k.get("resources") or []), f"resources {k.get('resources')}")
            check(f"{name}: sets a namespace", bool(k.get("namespace")), "no namespace")
            check(f"{name}: sets an image tag",
                  any(i.get("newTag") or i.get("digest") for i in k.get("images") or []),
                  f"images {k.get('images')}")
    copy = os.path.join(k8s, "base", "dwaed.conf")
    if os.path.isfile(copy):
        with open(copy, encoding="utf-8") as a, \
                open(os.path.join(root, "deploy", "dwaed.conf"), encoding="utf-8") as b:
            check("deploy/k8s/base/dwaed.conf is identical to deploy/dwaed.conf",
                  a.read() == b.read(), "they differ: cp deploy/dwaed.conf deploy/k8s/base/")


def without_hashes(docs):
    """The objects as sorted JSON texts, generated-name hashes masked."""
    return sorted(re.sub(r'(dwaed-config)-[a-z0-9]+"', r'\1-HASH"', json.dumps(d, sort_keys=True))
                  for d in docs)


def render_kustomization(kdir, name):
    """The objects of kustomization directory `kdir`, or None (a failure is
    recorded)."""
    try:
        lite = kustomize_lite.render(kdir)
    except (kustomize_lite.KustomizeError, OSError, KeyError, ValueError) as e:
        check(f"kustomize_lite {name}", False, str(e))
        return None
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        note(f"kubectl not installed: {name} rendered by kustomize_lite.py")
        return lite
    try:
        proc = subprocess.run([kubectl, "kustomize", kdir], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        check(f"kubectl kustomize {name}", False, "timed out")
        return None
    if not check(f"kubectl kustomize {name}", proc.returncode == 0, proc.stderr.strip()):
        return None
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d is not None]
    check(f"kustomize_lite renders {name} as kubectl kustomize does (hashes aside)",
          without_hashes(docs) == without_hashes(lite), "outputs differ")
    return docs


def check_k8s(root, entrypoint):
    k8s = os.path.join(root, "deploy", "k8s")
    if not check("deploy/k8s exists", os.path.isdir(k8s), "missing"):
        return
    # Every manifest parses (multi-document).
    base_docs = []
    for f in yaml_files(k8s):
        try:
            docs = load_yaml_docs(f)
        except Exception as e:  # noqa: BLE001
            check(f"{rel(root, f)} parses", False, str(e))
            continue
        check(f"{rel(root, f)} parses", True)
        if os.path.basename(f).startswith("kustomization"):
            continue
        if len(docs) == 1 and isinstance(docs[0], list):  # a JSON 6902 patch
            check(f"{rel(root, f)}: JSON patch operations have op and path",
                  all(isinstance(o, dict) and o.get("op") and o.get("path") for o in docs[0]),
                  "malformed operation")
            continue
        for d in docs:
            check(f"{rel(root, f)}: {d.get('kind')} has apiVersion, kind and metadata.name",
                  d.get("apiVersion") and d.get("kind") and (d.get("metadata") or {}).get("name"),
                  "incomplete object")
        if os.path.dirname(f) == os.path.join(k8s, "base"):
            base_docs += docs
    check_k8s_docs(base_docs, "k8s/base files", entrypoint, expect_replicas=3)
    check_kustomizations(root)

    # Rendered: by kubectl's built-in kustomize when available (and then
    # kustomize_lite must agree with it), else by kustomize_lite.
    for kf in kustomizations(k8s):
        kdir = os.path.dirname(kf)
        name = rel(root, kdir)
        docs = render_kustomization(kdir, name)
        if docs is None:
            continue
        k = load_yaml_docs(kf)[0]
        expect = None
        for p in k.get("patches") or []:
            if "path" in p:
                for d in load_yaml_docs(os.path.join(kdir, p["path"])):
                    if isinstance(d, dict) and d.get("kind") == "StatefulSet" and "replicas" in (d.get("spec") or {}):
                        expect = d["spec"]["replicas"]
        for r in k.get("replicas") or []:
            expect = r.get("count")
        check_k8s_docs(docs, f"rendered {name}", entrypoint, expect_replicas=expect)
        ns = k.get("namespace")
        if ns:
            check(f"rendered {name}: namespaced objects are in {ns}",
                  all((d.get("metadata") or {}).get("namespace") == ns
                      for d in docs if d.get("kind") != "Namespace"),
                  "some objects have another namespace")
        for img in k.get("images") or []:
            want = f"{img.get('newName', img['name'])}:{img.get('newTag')}"
            images = [c.get("image") for d in docs if d.get("kind") == "StatefulSet"
                      for c in d["spec"]["template"]["spec"]["containers"]]
            check(f"rendered {name}: image is {want}", images and all(i == want for i in images),
                  f"images {images}")


# ----------------------------------------------------------------- compose --

def mount_parts(v):
    """(source, target, read_only) of a compose volume entry."""
    if isinstance(v, dict):
        return v.get("source"), v.get("target"), bool(v.get("read_only"))
    parts = v.split(":")
    src, tgt = parts[0], parts[1] if len(parts) > 1 else parts[0]
    return src, tgt, len(parts) > 2 and "ro" in parts[2].split(",")


def container_ports(ports):
    out = set()
    for p in ports or []:
        if isinstance(p, dict):
            out.add(int(p.get("target")))
        else:
            out.add(int(str(p).rsplit(":", 1)[-1].split("/")[0]))
    return out


def check_compose(root):
    deploy = os.path.join(root, "deploy")
    path = os.path.join(deploy, "compose.yaml")
    if not check("deploy/compose.yaml exists", os.path.isfile(path), "missing"):
        return None
    c = load_yaml_docs(path)[0]
    services = c.get("services") or {}
    for s in ("dwaed", "prometheus", "grafana", "replay"):
        check(f"compose: service {s}", s in services, f"services {sorted(services)}")
    d = services.get("dwaed") or {}
    b = d.get("build") or {}
    ctx = os.path.normpath(os.path.join(deploy, b.get("context", ".")))
    check("compose: dwaed is built from deploy/docker/Dockerfile with the repository as context",
          ctx == os.path.normpath(root) and b.get("dockerfile") == "deploy/docker/Dockerfile"
          and os.path.isfile(os.path.join(ctx, b.get("dockerfile", ""))),
          f"build {b}")
    test = (d.get("healthcheck") or {}).get("test")
    test_s = " ".join(test) if isinstance(test, list) else str(test)
    check("compose: dwaed healthcheck runs `dwae health`",
          re.search(r"(^|/|\s)dwae\s+health\b", test_s) is not None, f"test {test!r}")
    ports = container_ports(d.get("ports"))
    check("compose: dwaed publishes 50051 and 9464", {50051, 9464} <= ports, f"ports {ports}")
    mounts = [mount_parts(v) for v in d.get("volumes") or []]
    state = [m for m in mounts if m[1] == "/var/lib/dwae"]
    check("compose: dwaed has a volume at /var/lib/dwae", bool(state), f"volumes {mounts}")
    if state and not state[0][0].startswith((".", "/")):
        check(f"compose: volume {state[0][0]} is declared", state[0][0] in (c.get("volumes") or {}),
              "not in the top-level volumes")

    # Every bind mount's source exists (Docker would create an empty directory).
    for sname, s in services.items():
        for v in s.get("volumes") or []:
            src, tgt, _ = mount_parts(v)
            if src and src.startswith((".", "/")):
                p = os.path.normpath(os.path.join(deploy, src))
                check(f"compose: {sname} bind mount {src} exists", os.path.exists(p),
                      f"{rel(root, p)} is missing")

    prom = services.get("prometheus") or {}
    pm = {tgt: src for src, tgt, _ in (mount_parts(v) for v in prom.get("volumes") or [])}
    check("compose: prometheus image prom/prometheus",
          str(prom.get("image", "")).startswith("prom/prometheus"), prom.get("image"))
    check("compose: prometheus mounts prometheus-compose.yml as its config",
          pm.get("/etc/prometheus/prometheus.yml") == "./prometheus/prometheus-compose.yml", f"mounts {pm}")
    check("compose: prometheus mounts the alert rules",
          pm.get("/etc/prometheus/rules/dwae-alerts.yml") == "./prometheus/rules/dwae-alerts.yml"
          or pm.get("/etc/prometheus/rules") == "./prometheus/rules", f"mounts {pm}")
    pc_path = os.path.join(deploy, "prometheus", "prometheus-compose.yml")
    if os.path.isfile(pc_path):
        pc = load_yaml_docs(pc_path)[0]
        targets = [t for sc in pc.get("scrape_configs") or [] for st in sc.get("static_configs") or []
                   for t in st.get("targets") or []]
        check("prometheus-compose.yml scrapes dwaed:9464", "dwaed:9464" in targets, f"targets {targets}")
        jobs = [sc.get("job_name") for sc in pc.get("scrape_configs") or []]
        check("prometheus-compose.yml job is \"dwae\" (the alert rules' job)", jobs == ["dwae"],
              f"jobs {jobs}")
        check("prometheus-compose.yml loads /etc/prometheus/rules/*.yml",
              "/etc/prometheus/rules/*.yml" in (pc.get("rule_files") or []), f"{pc.get('rule_files')}")
        check_promtool(root, pc_path)

    graf = services.get("grafana") or {}
    gm = {tgt: src for src, tgt, _ in (mount_parts(v) for v in graf.get("volumes") or [])}
    check("compose: grafana image grafana/grafana",
          str(graf.get("image", "")).startswith("grafana/grafana"), graf.get("image"))
    dash_prov = os.path.join(deploy, "grafana", "provisioning", "dashboards", "dwae.yml")
    ds_prov = os.path.join(deploy, "grafana", "provisioning", "datasources", "prometheus.yml")
    check("compose: grafana mounts the dashboard provisioning",
          gm.get("/etc/grafana/provisioning/dashboards/dwae.yml") == "./grafana/provisioning/dashboards/dwae.yml",
          f"mounts {gm}")
    check("compose: grafana mounts the datasource provisioning",
          gm.get("/etc/grafana/provisioning/datasources/prometheus.yml")
          == "./grafana/provisioning/datasources/prometheus.yml", f"mounts {gm}")
    if os.path.isfile(dash_prov):
        dp = load_yaml_docs(dash_prov)[0]
        paths = [(p.get("options") or {}).get("path") for p in dp.get("providers") or []]
        check("grafana dashboards provider reads /var/lib/grafana/dashboards where dwae.json is mounted",
              "/var/lib/grafana/dashboards" in paths
              and gm.get("/var/lib/grafana/dashboards/dwae.json") == "./grafana/dwae.json",
              f"provider paths {paths}, mounts {gm}")
    if os.path.isfile(ds_prov):
        ds = load_yaml_docs(ds_prov)[0]
        urls = [x.get("url") for x in ds.get("datasources") or []]
        check("grafana datasource points at the compose prometheus service",
              "http://prometheus:9090" in urls, f"urls {urls}")
        uids = {x.get("uid") for x in ds.get("datasources") or []}
        dash = os.path.join(deploy, "grafana", "dwae.json")
        if os.path.isfile(dash):
            with open(dash, encoding="utf-8") as f:
                text = f.read()
            refs = set(re.findall(r'"datasource"\s*:\s*\{[^{}]*?"uid"\s*:\s*"([^"]*)"', text))
            bad = {r for r in refs if r not in uids and not r.startswith("$") and not r.startswith("-- ")}
            check("grafana/dwae.json refers only to the provisioned datasource (or a variable)",
                  not bad, f"unknown datasource uids {sorted(bad)}; provisioned {sorted(uids)}")

    rp = services.get("replay") or {}
    check("compose: replay is in profile \"replay\"", "replay" in (rp.get("profiles") or []),
          f"profiles {rp.get('profiles')}")
    dep = (rp.get("depends_on") or {})
    check("compose: replay waits for dwaed to be healthy",
          isinstance(dep, dict) and (dep.get("dwaed") or {}).get("condition") == "service_healthy",
          f"depends_on {dep}")
    cmd = rp.get("command")
    cmd_s = " ".join(cmd) if isinstance(cmd, list) else str(cmd or "")
    check("compose: replay runs dwae replay --server=dwaed:50051 ... /data/KDDTest+.txt",
          "dwae replay" in cmd_s and "--server=dwaed:50051" in cmd_s and "/data/KDDTest+.txt" in cmd_s,
          f"command {cmd_s!r}")
    rm = [mount_parts(v) for v in rp.get("volumes") or []]
    check("compose: replay mounts data/nsl-kdd read-only at /data",
          ("../data/nsl-kdd", "/data", True) in rm, f"volumes {rm}")
    return c


def check_promtool(root, pc_path):
    """promtool check config on the compose config, with the rules path mapped
    from the container (/etc/prometheus/rules) to deploy/prometheus/rules."""
    promtool = shutil.which("promtool")
    if promtool is None:
        note("promtool not installed: prometheus-compose.yml not checked with promtool")
        return
    rules_dir = os.path.join(root, "deploy", "prometheus", "rules")
    with open(pc_path, encoding="utf-8") as f:
        text = f.read().replace("/etc/prometheus/rules/", rules_dir + "/")
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "prometheus.yml")
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        proc = subprocess.run([promtool, "check", "config", p], capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    check("promtool check config prometheus-compose.yml (with the rules it loads)",
          proc.returncode == 0 and "SUCCESS" in out, out.strip().replace("\n", " | "))
    check("prometheus-compose.yml's rule glob finds the alert rules",
          os.path.isfile(os.path.join(rules_dir, "dwae-alerts.yml")), "deploy/prometheus/rules/dwae-alerts.yml missing")


# -------------------------------------------------------------- Dockerfile --

def dockerfile_instructions(path):
    """[(INSTRUCTION, args)] with line continuations joined, comments dropped."""
    out, cur = [], ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.rstrip("\n")
            if not cur and (not s.strip() or s.lstrip().startswith("#")):
                continue
            if cur and s.lstrip().startswith("#"):
                continue
            if s.rstrip().endswith("\\"):
                cur += s.rstrip()[:-1] + " "
                continue
            cur += s
            parts = cur.strip().split(None, 1)
            out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
            cur = ""
    return out


def exec_form(args):
    """The argv of an exec-form (JSON array) instruction, else None."""
    try:
        v = json.loads(args)
        return v if isinstance(v, list) else None
    except ValueError:
        return None


def runtime_packages(instrs):
    """Packages of the final stage's apt-get install."""
    stage = []
    for ins, args in instrs:
        if ins == "FROM":
            stage = []
        stage.append((ins, args))
    pkgs = []
    for ins, args in stage:
        if ins == "RUN" and "apt-get install" in args:
            for part in re.split(r"&&|;", args):
                if "apt-get install" in part:
                    words = shlex.split(part.split("apt-get install", 1)[1])
                    pkgs += [w for w in words if not w.startswith("-")]
    return pkgs


def check_dockerfile(root):
    path = os.path.join(root, "deploy", "docker", "Dockerfile")
    if not check("deploy/docker/Dockerfile exists", os.path.isfile(path), "missing"):
        return None, []
    instrs = dockerfile_instructions(path)
    froms = [a for i, a in instrs if i == "FROM"]
    stages = []
    for f in froms:
        m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", f, re.IGNORECASE)
        stages.append((m.group(1), m.group(2)))
    check("Dockerfile: multi-stage", len(stages) >= 2, f"{len(stages)} FROM")
    names = set()
    for image, alias in stages:
        check(f"Dockerfile: FROM {image} is debian:12 (bookworm) or an earlier stage",
              image in ("debian:12", "debian:12-slim", "debian:bookworm", "debian:bookworm-slim")
              or image in names, "another base image")
        if alias:
            names.add(alias)
    check("Dockerfile: the runtime stage is debian:12-slim",
          stages and stages[-1][0] in ("debian:12-slim", "debian:bookworm-slim"),
          f"final FROM {stages[-1][0] if stages else None}")
    runs = [a for i, a in instrs if i == "RUN"]
    check("Dockerfile: the build runs ./scripts/build", any("./scripts/build" in r for r in runs),
          "no RUN ./scripts/build")
    envs = " ".join(a for i, a in instrs if i in ("ENV", "ARG", "RUN"))
    check("Dockerfile: DWAE_CMAKE_ARGS skips tests and benchmarks",
          "-DDWAE_BUILD_TESTS=OFF" in envs and "-DDWAE_BUILD_BENCH=OFF" in envs,
          "DWAE_CMAKE_ARGS without -DDWAE_BUILD_TESTS=OFF -DDWAE_BUILD_BENCH=OFF")
    last_stage = []
    for i, a in instrs:
        if i == "FROM":
            last_stage = []
        last_stage.append((i, a))
    users = [a for i, a in last_stage if i == "USER"]
    check("Dockerfile: runtime USER is not root",
          users and users[-1].split(":")[0] not in ("root", "0"), f"USER {users}")
    check("Dockerfile: runtime USER is uid 10001", users and users[-1].split(":")[0] == "10001",
          f"USER {users}")
    stage_runs = " ".join(a for i, a in last_stage if i == "RUN")
    check("Dockerfile: user 10001 is created without a login shell",
          re.search(r"useradd\b[^&;]*--uid 10001", stage_runs) is not None
          and "--shell /usr/sbin/nologin" in stage_runs, "no useradd --uid 10001 --shell /usr/sbin/nologin")
    hc = [a for i, a in instrs if i == "HEALTHCHECK"]
    check("Dockerfile: HEALTHCHECK runs dwae health --server=127.0.0.1:50051",
          hc and re.search(r"dwae\"?,?\s*\"?health", hc[-1]) and "--server=127.0.0.1:50051" in hc[-1],
          f"HEALTHCHECK {hc}")
    exposed = set(" ".join(a for i, a in instrs if i == "EXPOSE").replace("/tcp", "").split())
    check("Dockerfile: EXPOSE 50051 and 9464", {"50051", "9464"} <= exposed, f"EXPOSE {exposed}")
    vols = " ".join(a for i, a in last_stage if i == "VOLUME")
    check("Dockerfile: VOLUME /var/lib/dwae", "/var/lib/dwae" in vols, f"VOLUME {vols!r}")
    copies = [a for i, a in last_stage if i == "COPY"]
    check("Dockerfile: copies deploy/dwaed.conf to /etc/dwae/dwaed.conf",
          any(c.split()[-2:] == ["deploy/dwaed.conf", "/etc/dwae/dwaed.conf"] for c in copies),
          f"COPY {copies}")
    ep = [exec_form(a) for i, a in last_stage if i == "ENTRYPOINT"]
    entry = ep[-1] if ep else None
    want_flags = ["--listen=0.0.0.0:50051", "--metrics_listen=0.0.0.0:9464",
                  "--state_dir=/var/lib/dwae", "--config=/etc/dwae/dwaed.conf"]
    check("Dockerfile: exec-form ENTRYPOINT dwaed with listen, metrics, state and config flags",
          entry and os.path.basename(entry[0]) == "dwaed" and all(f in entry for f in want_flags),
          f"ENTRYPOINT {entry}")

    ign = os.path.join(root, "deploy", "docker", "Dockerfile.dockerignore")
    if check("deploy/docker/Dockerfile.dockerignore exists", os.path.isfile(ign), "missing"):
        with open(ign, encoding="utf-8") as f:
            pats = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
        for must in ("build", "var", ".git"):
            check(f"dockerignore excludes {must}/", any(fnmatch.fnmatch(must, p) for p in pats),
                  f"patterns {pats}")
        for need in ("CMakeLists.txt", "scripts", "proto", "core", "server", "client", "deploy"):
            check(f"dockerignore keeps {need} (needed by the build)",
                  not any(fnmatch.fnmatch(need, p) for p in pats if not p.startswith("!")),
                  f"patterns {pats}")
    return entry, runtime_packages(instrs)


# ------------------------------------------------------------- ldd & dpkg --

def find_build_dirs(root):
    """Build directories holding dwaed: ctest's own (cwd), DWAE_BUILD_DIR, build/."""
    cands = []
    d = os.getcwd()
    while True:
        if os.path.isfile(os.path.join(d, "CMakeCache.txt")):
            cands.append(d)
            break
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    if os.environ.get("DWAE_BUILD_DIR"):
        cands.append(os.path.join(root, os.environ["DWAE_BUILD_DIR"]))
    cands.append(os.path.join(root, "build"))
    for c in cands:
        if os.access(os.path.join(c, "server", "dwaed"), os.X_OK):
            return c
    return None


def dpkg_owner(path):
    real = os.path.realpath(path)
    tries = [real, path]
    for p in list(tries):
        if p.startswith("/usr/lib/"):
            tries.append(p[len("/usr"):])
        elif p.startswith("/lib"):
            tries.append("/usr" + p)
    for p in tries:
        proc = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout:
            pkg = proc.stdout.split(":", 1)[0].split(",")[0].strip()
            return pkg
    return None


def check_ldd(build, packages):
    if build is None:
        note("no build with server/dwaed found (ctest's build dir, $DWAE_BUILD_DIR or build/): "
             "the runtime-package check against ldd is skipped")
        return
    if shutil.which("ldd") is None or shutil.which("dpkg") is None:
        note("ldd or dpkg missing: the runtime-package check is skipped")
        return
    bins = [os.path.join(build, "server", "dwaed")]
    dwae = os.path.join(build, "client", "dwae")
    if os.access(dwae, os.X_OK):
        bins.append(dwae)
    needed = {}
    for b in bins:
        proc = subprocess.run(["ldd", b], capture_output=True, text=True)
        check(f"ldd {b}", proc.returncode == 0, proc.stderr.strip())
        for line in proc.stdout.splitlines():
            line = line.strip()
            if "not found" in line:
                check(f"ldd {os.path.basename(b)}: {line}", False, "library not found")
                continue
            m = re.search(r"=>\s*(/\S+)", line) or re.match(r"(/\S+)\s", line)
            if m:
                needed.setdefault(m.group(1), set()).add(os.path.basename(b))
    owners = {}
    for so in sorted(needed):
        pkg = dpkg_owner(so)
        if check(f"dpkg -S {so}", pkg is not None, "no Debian package owns it"):
            owners.setdefault(pkg.split(":")[0], []).append(os.path.basename(so))
    listed = set(packages)
    for pkg in sorted(owners):
        check(f"Dockerfile runtime packages include {pkg} ({', '.join(owners[pkg][:3])}"
              f"{', ...' if len(owners[pkg]) > 3 else ''})", pkg in listed, "not in the apt-get install list")
    if len(bins) == 2:
        extra = sorted(listed - set(owners))
        check("Dockerfile runtime packages are exactly those ldd needs", not extra,
              f"not needed by dwaed or dwae: {extra}")


# --------------------------------------------------- the image's commands --

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_command_lines(root, build, entry, compose):
    """Runs the image's ENTRYPOINT (+ compose's flags), HEALTHCHECK and the
    replay service's command with the binaries of this build, on loopback."""
    if build is None or not entry:
        note("no dwaed build found: the image's command lines are not run")
        return
    dwaed = os.path.join(build, "server", "dwaed")
    dwae = os.path.join(build, "client", "dwae")
    if not os.access(dwae, os.X_OK):
        note("no dwae build found: the image's command lines are not run")
        return
    grpc_port, metrics_port = free_port(), free_port()
    tmp = tempfile.mkdtemp(prefix="dwae-deploy-")
    state = os.path.join(tmp, "state")
    os.mkdir(state)

    def local(arg):
        return (arg.replace("0.0.0.0:50051", f"127.0.0.1:{grpc_port}")
                .replace("0.0.0.0:9464", f"127.0.0.1:{metrics_port}")
                .replace("/var/lib/dwae", state)
                .replace("/etc/dwae/dwaed.conf", os.path.join(root, "deploy", "dwaed.conf")))

    extra = []
    if compose:
        cmd = ((compose.get("services") or {}).get("dwaed") or {}).get("command") or []
        extra = cmd if isinstance(cmd, list) else shlex.split(cmd)
    argv = [dwaed] + [local(a) for a in entry[1:]] + [local(a) for a in extra]
    log = open(os.path.join(tmp, "dwaed.log"), "w+", encoding="utf-8")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        hc = [dwae, "health", f"--server=127.0.0.1:{grpc_port}", "--timeout=2s"]
        healthy = False
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            if subprocess.run(hc, capture_output=True).returncode == 0:
                healthy = True
                break
            time.sleep(0.2)
        log.seek(0)
        check("the image's ENTRYPOINT (loopback ports, temp state dir, deploy/dwaed.conf) "
              "starts and its HEALTHCHECK passes", healthy,
              f"dwaed {'exited ' + str(proc.returncode) if proc.poll() is not None else 'not SERVING'}: "
              + log.read().strip().replace("\n", " | ")[-800:])
        if not healthy:
            return
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
                body = r.read().decode()
            check("metrics are served at /metrics", "dwae_build_info" in body, "no dwae_build_info")
        except OSError as e:
            check("metrics are served at /metrics", False, str(e))

        # The compose replay service's command, /data and dwaed:50051 mapped.
        rp = ((compose or {}).get("services") or {}).get("replay") or {}
        cmd = rp.get("command")
        script = cmd[0] if isinstance(cmd, list) and len(cmd) == 1 else None
        if script and (rp.get("entrypoint") or [])[:2] == ["/bin/sh", "-c"]:
            script = (script.replace("dwaed:50051", f"127.0.0.1:{grpc_port}")
                      .replace("/data/", os.path.join(root, "data", "nsl-kdd") + "/"))
            env = dict(os.environ, PATH=os.path.dirname(dwae) + os.pathsep + os.environ.get("PATH", ""))
            r = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, env=env,
                               timeout=90)
            check("the compose replay command runs against the daemon", r.returncode == 0,
                  (r.stderr or r.stdout).strip()[-500:])
        else:
            note("compose replay command is not a single /bin/sh -c script: not run")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
    check("dwaed stops cleanly on SIGTERM (exit 0)", proc.returncode == 0,
          f"exit {proc.returncode}")
    check("dwaed wrote its checkpoint to the state dir",
          os.path.isfile(os.path.join(state, "model.ckpt")), f"files {os.listdir(state)}")
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) != 2:
        print("usage: deploy_manifests_test.py REPO_ROOT", file=sys.stderr)
        return 2
    root = os.path.abspath(sys.argv[1])
    if not os.path.isdir(os.path.join(root, "deploy")):
        print(f"FAIL  {root} has no deploy/ directory")
        print("0 passed, 1 failed")
        return 1
    check_yamllint(root)
    entry, packages = check_dockerfile(root)
    check_k8s(root, entry)
    compose = check_compose(root)
    build = find_build_dirs(root)
    if build:
        note(f"binaries from {build}")
    check_ldd(build, packages)
    check_command_lines(root, build, entry, compose)
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
