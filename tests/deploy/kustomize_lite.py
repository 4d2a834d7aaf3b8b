"""Renders a kustomization offline, for the tests, when `kubectl kustomize`
is not installed (Debian packages neither kubectl nor kustomize).

Only what deploy/k8s uses is supported, and anything else is an error rather
than a silent difference: `resources` (files and kustomization directories,
recursively), `namespace`, `images` (newName/newTag), `configMapGenerator`
(files; the name gets a content-hash suffix and references from pod volumes
follow it), and `patches` given by `path` with a `target` kind/name, either a
strategic-merge patch (a mapping; lists of containers, volumes, volume
mounts, ports and env merge by `name`, other lists are replaced, null
deletes) or a JSON 6902 patch (a list of add/replace/remove operations).

The hash suffix is not kustomize's own (that one hashes a canonical encoding
of the ConfigMap); deploy_manifests_test compares this renderer's output with
kubectl's, hash suffixes aside, wherever kubectl is installed.

    docs = render("deploy/k8s/overlays/example")   # list of dicts
"""

import copy
import hashlib
import json
import os

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "images",
                  "patches", "configMapGenerator"}
# Kinds that have no namespace (of those a kustomization here may hold).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding",
                  "CustomResourceDefinition", "PersistentVolume", "StorageClass"}
MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name",
              "volumeMounts": "name", "ports": "containerPort", "env": "name"}


class KustomizeError(Exception):
    pass


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def kustomization_file(kdir):
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        path = os.path.join(kdir, name)
        if os.path.isfile(path):
            return path
    raise KustomizeError(f"{kdir}: no kustomization file")


def config_map(kdir, generator):
    data = {}
    for entry in generator.get("files") or []:
        key, _, src = entry.rpartition("=")
        src = src or entry
        with open(os.path.join(kdir, src), encoding="utf-8") as f:
            data[key or os.path.basename(src)] = f.read()
    unknown = set(generator) - {"name", "files"}
    if unknown:
        raise KustomizeError(f"configMapGenerator: unsupported {sorted(unknown)}")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{generator['name']}-{digest[:10]}"}, "data": data}


def strategic_merge(base, patch):
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif key in MERGE_KEYS and isinstance(value, list) and isinstance(out.get(key), list):
            merge_key = MERGE_KEYS[key]
            merged = out[key]
            for item in value:
                match = next((i for i, old in enumerate(merged)
                              if old.get(merge_key) == item.get(merge_key)), None)
                if match is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[match] = strategic_merge(merged[match], item)
        else:
            out[key] = strategic_merge(out.get(key), value)
    return out


def json_patch(doc, operations):
    doc = copy.deepcopy(doc)
    for op in operations:
        parts = [p.replace("~1", "/").replace("~0", "~")
                 for p in op["path"].lstrip("/").split("/")]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        kind = op["op"]
        if kind not in ("add", "replace", "remove"):
            raise KustomizeError(f"JSON patch op {kind!r} is not supported")
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(index, copy.deepcopy(op["value"]))
            elif kind == "replace":
                parent[index] = copy.deepcopy(op["value"])
            else:
                del parent[index]
        else:
            if kind == "remove":
                del parent[last]
            elif kind == "replace" and last not in parent:
                raise KustomizeError(f"JSON patch: replace of missing {op['path']}")
            else:
                parent[last] = copy.deepcopy(op["value"])
    return doc


def pod_specs(doc):
    spec = doc.get("spec") or {}
    if "template" in spec:
        yield (spec["template"] or {}).get("spec") or {}


def render(kdir):
    """The objects of the kustomization in `kdir`, as kustomize would emit
    them (order aside)."""
    kfile = kustomization_file(kdir)
    k = load_docs(kfile)[0]
    unknown = set(k) - SUPPORTED_KEYS
    if unknown:
        raise KustomizeError(f"{kfile}: unsupported fields {sorted(unknown)}")
    docs = []
    for r in k.get("resources") or []:
        path = os.path.normpath(os.path.join(kdir, r))
        docs += render(path) if os.path.isdir(path) else load_docs(path)
    renamed = {}
    for g in k.get("configMapGenerator") or []:
        cm = config_map(kdir, g)
        renamed[g["name"]] = cm["metadata"]["name"]
        docs.append(cm)
    for doc in docs:
        for pod in pod_specs(doc):
            for v in pod.get("volumes") or []:
                cm = v.get("configMap")
                if cm and cm.get("name") in renamed:
                    cm["name"] = renamed[cm["name"]]
    for p in k.get("patches") or []:
        if set(p) - {"path", "target"} or "path" not in p:
            raise KustomizeError(f"{kfile}: only patches with path and target are supported")
        target = p.get("target") or {}
        patch_docs = load_docs(os.path.join(kdir, p["path"]))
        hit = False
        for i, doc in enumerate(docs):
            if (doc.get("kind") == target.get("kind")
                    and doc["metadata"].get("name") == target.get("name")):
                hit = True
                for patch in patch_docs:
                    docs[i] = (json_patch(docs[i], patch) if isinstance(patch, list)
                               else strategic_merge(docs[i], patch))
        if not hit:
            raise KustomizeError(f"{kfile}: patch target {target} not found")
    for image in k.get("images") or []:
        for doc in docs:
            for pod in pod_specs(doc):
                for c in (pod.get("containers") or []) + (pod.get("initContainers") or []):
                    name, _, tag = c.get("image", "").partition(":")
                    if name == image["name"]:
                        c["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    if k.get("namespace"):
        for doc in docs:
            if doc.get("kind") not in CLUSTER_SCOPED:
                doc.setdefault("metadata", {})["namespace"] = k["namespace"]
    return docs
