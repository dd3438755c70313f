"""Shared helpers for the Kubernetes deployment tests (no cluster needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "hub_config" / "kubernetes"
SHARED = REPO.parent / "shared"
SCHEMA = SHARED / "k8s" / "z2jh-values.schema.yaml"


def load_module(name: str, path: Path):
    """Import a file that is not part of a package (hub_config/...)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def profiles():
    return load_module("daisy_profiles", REPO / "hub_config" / "profiles.py")


@pytest.fixture(scope="session")
def render():
    return load_module("daisy_render_values", K8S / "render_values.py")


@pytest.fixture(scope="session")
def hub_hooks():
    return load_module("hub_hooks", K8S / "hub_hooks.py")


@pytest.fixture(scope="session")
def values():
    with open(K8S / "values.yaml") as f:
        return yaml.safe_load(f)


def _camel(s: str) -> str:
    import re

    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), s)


#: KubeSpawner traits set from ``singleuser.<key>`` by the chart's jupyterhub_config.py (chart 4/5).
_SINGLEUSER_TRAITS = (
    ("start_timeout", None),
    ("image_pull_policy", "image.pullPolicy"),
    ("uid", None),
    ("fs_gid", None),
    ("service_account", "serviceAccountName"),
    ("tolerations", "extraTolerations"),
    ("node_selector", None),
    ("mem_limit", "memory.limit"),
    ("mem_guarantee", "memory.guarantee"),
    ("cpu_limit", "cpu.limit"),
    ("cpu_guarantee", "cpu.guarantee"),
    ("extra_resource_limits", "extraResource.limits"),
    ("extra_resource_guarantees", "extraResource.guarantees"),
    ("environment", "extraEnv"),
    ("profile_list", None),
    ("extra_pod_config", None),
    ("allow_privilege_escalation", None),
)


def z2jh_config(values: dict, hooks_dir: Path):
    """A JupyterHub ``Config`` built from Helm values the way the Z2JH chart's hub does it.

    Mirrors, for the keys Daisy's values use, the chart's (4.x/5.x)
    ``files/hub/jupyterhub_config.py``: singleuser.* -> KubeSpawner traits, image,
    the dedicated-node tolerations, dynamic home storage, extra volumes and
    files, ``hub.config`` and finally ``hub.extraConfig`` (executed with ``c``).
    ``hub.extraFiles`` are written under ``hooks_dir`` (the hub pod's mount).
    """
    import copy

    from traitlets.config import Config

    su = copy.deepcopy(values["singleuser"])
    c = Config()

    def get(path: str, default=None):
        node = su
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    for trait, key in _SINGLEUSER_TRAITS:
        v = get(key or _camel(trait))
        if v is not None:
            c.KubeSpawner[trait] = copy.deepcopy(v)
    c.KubeSpawner.image = f"{su['image']['name']}:{su['image']['tag']}"
    if "cmd" in su:
        c.Spawner.cmd = su["cmd"]
    if "defaultUrl" in su:
        c.Spawner.default_url = su["defaultUrl"]
    c.KubeSpawner.allow_privilege_escalation = su.get("allowPrivilegeEscalation")
    sched = values.get("scheduling", {})
    if sched.get("userScheduler", {}).get("enabled"):
        c.KubeSpawner.scheduler_name = "user-scheduler"
    if sched.get("podPriority", {}).get("enabled"):
        c.KubeSpawner.priority_class_name = "priority"
    if sched.get("userPods", {}).get("nodeAffinity", {}).get("matchNodePurpose") == "prefer":
        c.KubeSpawner.node_affinity_preferred = [
            {
                "weight": 100,
                "preference": {
                    "matchExpressions": [
                        {"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}
                    ]
                },
            }
        ]
    # chart default scheduling.userPods.tolerations, then singleuser.extraTolerations
    tol = [
        {"key": key, "operator": "Equal", "value": "user", "effect": "NoSchedule"}
        for key in ("hub.jupyter.org/dedicated", "hub.jupyter.org_dedicated")
    ]
    tol += list(c.KubeSpawner.tolerations) if "tolerations" in c.KubeSpawner else []
    c.KubeSpawner.tolerations = tol
    st = su["storage"]
    assert st["type"] == "dynamic"
    c.KubeSpawner.pvc_name_template = "claim-{user_server}"
    c.KubeSpawner.storage_pvc_ensure = True
    c.KubeSpawner.storage_capacity = st["capacity"]
    c.KubeSpawner.storage_access_modes = st["dynamic"]["storageAccessModes"]
    c.KubeSpawner.volumes = [
        {"name": "volume-{user_server}", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}
    ]
    c.KubeSpawner.volume_mounts = [{"mountPath": st["homeMountPath"], "name": "volume-{user_server}"}]
    files = su.get("extraFiles", {})
    if files:
        c.KubeSpawner.volumes.append(
            {
                "name": "files",
                "secret": {"secretName": "singleuser", "items": [{"key": k, "path": k} for k in files]},
            }
        )
        c.KubeSpawner.volume_mounts.extend(
            {"mountPath": f["mountPath"], "subPath": k, "name": "files"} for k, f in files.items()
        )
    c.KubeSpawner.volumes.extend(st.get("extraVolumes", []))
    c.KubeSpawner.volume_mounts.extend(st.get("extraVolumeMounts", []))
    for section, cfg in values.get("hub", {}).get("config", {}).items():
        c[section].update(copy.deepcopy(cfg))
    for f in values.get("hub", {}).get("extraFiles", {}).values():
        target = hooks_dir / Path(f["mountPath"]).name
        target.write_text(f["stringData"])
    sys.path.insert(0, str(hooks_dir))
    try:
        sys.modules.pop("hub_hooks", None)
        for key in sorted(values.get("hub", {}).get("extraConfig", {})):
            code = values["hub"]["extraConfig"][key].replace(
                "/usr/local/etc/jupyterhub/daisy", str(hooks_dir)
            )
            exec(compile(code, f"extraConfig.{key}", "exec"), {"c": c})
    finally:
        sys.path.remove(str(hooks_dir))
    return c


def k8s_unknown_fields(obj, type_name: str, path: str = "") -> list[str]:
    """Fields of ``obj`` that the Kubernetes API model ``type_name`` (e.g. ``V1PodSpec``) does not have.

    Walks nested models with the OpenAPI types of the ``kubernetes_asyncio``
    client, so a misspelt key anywhere in a manifest (``volumeMount``,
    ``nodeselector``) is reported with its path. Values of ``dict(str, ...)`` and
    ``object`` fields (labels, resource quantities) are not checked.
    """
    import re

    from kubernetes_asyncio.client import models

    problems: list[str] = []
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        for i, item in enumerate(obj or []):
            problems += k8s_unknown_fields(item, m.group(1), f"{path}[{i}]")
        return problems
    model = getattr(models, type_name, None)
    if model is None or not isinstance(obj, dict):
        return problems
    by_json = {v: k for k, v in model.attribute_map.items()}
    for key, value in obj.items():
        if key not in by_json:
            problems.append(f"{path}.{key} (not a field of {type_name})")
            continue
        problems += k8s_unknown_fields(value, model.openapi_types[by_json[key]], f"{path}.{key}")
    return problems
