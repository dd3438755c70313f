"""The one definition of Daisy's server profiles (CPU, GPU, Voila app only).

Everything that sizes or restricts a user server lives here, once:

* the Zero to JupyterHub Helm values (``hub_config/kubernetes/values.yaml``) are
  rendered from it by ``hub_config/kubernetes/render_values.py`` (a test checks
  that the committed file equals a fresh rendering);
* the Dask worker groups on Kubernetes reuse the same resources
  (:func:`dask_cluster_spec`);
* the local demo hub (``hub_config/jupyterhub_config.py``) reads
  :func:`local_profile_choices` to show the same list, and runs only the
  profiles marked ``runs_locally``.

This module uses the standard library only: it is imported by the render
script, the tests and the local hub config, never by user code.

Units: cores are CPU cores (Kubernetes ``cpu``), memory sizes are GiB
(Kubernetes ``Gi``; KubeSpawner reads ``"16G"`` as 16 GiB).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Kubernetes extended resource of the NVIDIA device plugin.
GPU_RESOURCE = "nvidia.com/gpu"
#: Node label set by NVIDIA GPU feature discovery (GPU operator) on GPU nodes.
GPU_NODE_LABEL = {"nvidia.com/gpu.present": "true"}
#: Taint the facility puts on GPU nodes so that only GPU pods land there.
GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}

#: User inside the images (the Jupyter docker-stacks ``jovyan`` user).
NB_UID = 1000
NB_GID = 100
HOME = "/home/jovyan"

#: Where the Voila apps and kernelspecs are installed in the images.
APPS_DIR = "/opt/daisy/apps"

#: Data of each proposal: a read-only volume, one sub-directory per proposal.
DATA_PVC = "{release}-data"  # PersistentVolumeClaim (ReadOnlyMany)
DATA_SUBPATH = "proposals/{proposal}"  # inside that volume
DATA_MOUNT = "/data/proposals/{proposal}"  # inside user pods
#: JupyterHub group that grants read access to one proposal's data.
PROPOSAL_GROUP_PREFIX = "proposal-"
#: A proposal id as it may appear in a group name (no path separators, no dots first).
PROPOSAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$"

#: Idle culling (seconds): user servers by the hub, kernels (Voila included) in the server.
CULL_SERVER_AFTER = 3600
CULL_SERVER_EVERY = 300
CULL_KERNEL_AFTER = 1200
CULL_KERNEL_EVERY = 120
#: A Dask cluster with no activity is deleted by the Dask Kubernetes operator.
DASK_CLUSTER_IDLE_TIMEOUT = 1800

#: /dev/shm (memory-backed) as a fraction of the server's memory limit: Dask's
#: multiprocessing queues, shared-memory arrays and worker spill go there.
SHM_FRACTION = 0.25


@dataclass(frozen=True)
class Resources:
    """Size of one user pod (or one Dask worker pod).

    Parameters
    ----------
    cores
        CPU limit (cores).
    memory_gb
        Memory limit (GiB).
    gpus
        NVIDIA GPUs (``nvidia.com/gpu``); 0 is written explicitly.
    guarantee_fraction
        Requests = limits x this fraction (1.0: Guaranteed QoS).
    """

    cores: float
    memory_gb: float
    gpus: int = 0
    guarantee_fraction: float = 1.0

    @property
    def shm_gb(self) -> float:
        """Size of the memory-backed ``/dev/shm`` (GiB)."""
        return round(self.memory_gb * SHM_FRACTION, 2)


@dataclass(frozen=True)
class Profile:
    """One entry of the server menu.

    ``allowed_groups`` are JupyterHub group names or shell patterns
    (``beamtime-*``); empty means every user. ``image`` is ``"cpu"`` or ``"gpu"``
    (see :data:`IMAGES`).
    """

    slug: str
    kind: str  # "cpu" | "gpu" | "voila"
    resources: Resources
    image: str
    description: str
    default: bool = False
    allowed_groups: tuple[str, ...] = ()
    default_url: str = "/lab"
    runs_locally: bool = False  # the local demo hub can run it (no GPU, no Kubernetes)
    dask_workers: str = "cpu"  # which Dask worker group its clusters use
    dask_max_workers: int = 8

    @property
    def display_name(self) -> str:
        r = self.resources
        cores = f"{r.cores:g} cores" if r.cores != 1 else "1 core"
        if self.kind == "gpu":
            gpus = "1 NVIDIA GPU" if r.gpus == 1 else f"{r.gpus} NVIDIA GPUs"
            return f"GPU ({gpus}, {cores}, {r.memory_gb:g} GB)"
        if self.kind == "voila":
            return "Voila app only"
        return f"CPU ({cores}, {r.memory_gb:g} GB)"


#: Image names (without tag); ``{registry}`` is filled at render time.
IMAGES = {
    "cpu": "{registry}/daisy-singleuser",
    "gpu": "{registry}/daisy-singleuser-gpu",
}

PROFILES: tuple[Profile, ...] = (
    Profile(
        slug="cpu",
        kind="cpu",
        resources=Resources(cores=4, memory_gb=16),
        image="cpu",
        description="JupyterLab and the Daisy apps on a CPU node. Dask work runs on CPU workers.",
        default=True,
        runs_locally=True,
        dask_workers="cpu",
        dask_max_workers=8,
    ),
    Profile(
        slug="gpu",
        kind="gpu",
        resources=Resources(cores=8, memory_gb=64, gpus=1),
        image="gpu",
        description=(
            "JupyterLab with CUDA 12 and CuPy on a GPU node, for GPU reconstruction. "
            "Members of an active beamtime group only."
        ),
        allowed_groups=("beamtime-*", "daisy-gpu"),
        dask_workers="gpu",
        dask_max_workers=2,
    ),
    Profile(
        slug="voila",
        kind="voila",
        resources=Resources(cores=1, memory_gb=4, guarantee_fraction=0.25),
        image="cpu",
        description="Only the Daisy web apps (Voila), no notebook interface. Small and quick to start.",
        default_url="/voila/tree",  # the list of apps (Voila server extension)
        runs_locally=True,
        dask_workers="cpu",
        dask_max_workers=4,
    ),
)

#: Dask worker pods: one worker is the size of the session of that kind.
DASK_WORKER_RESOURCES = {
    "cpu": next(p.resources for p in PROFILES if p.kind == "cpu"),
    "gpu": next(p.resources for p in PROFILES if p.kind == "gpu"),
}


def profile(slug: str) -> Profile:
    """The profile with this slug (KeyError naming the known slugs otherwise)."""
    for p in PROFILES:
        if p.slug == slug:
            return p
    raise KeyError(f"no profile {slug!r}; known: {', '.join(p.slug for p in PROFILES)}")


def image_ref(which: str, registry: str, tag: str) -> str:
    """Full image reference ``registry/name:tag`` of the ``"cpu"`` or ``"gpu"`` image."""
    return IMAGES[which].format(registry=registry) + ":" + tag


def _gb(x: float) -> str:
    return f"{x:g}G"


#: Service account of user pods (may create Dask clusters); GPU sessions get their own,
#: the only one an admission policy lets create GPU Dask workers.
USER_SERVICE_ACCOUNT = "{release}-user"
GPU_SERVICE_ACCOUNT = "{release}-user-gpu"


def kubespawner_override(p: Profile, registry: str, tag: str, release: str = "daisy") -> dict[str, Any]:
    """The ``kubespawner_override`` of profile ``p``.

    Volumes, mounts and tolerations are dictionaries keyed by name: the hub
    hooks turn the chart's lists into dictionaries, so these *merge* with the
    home volume, the per-proposal data and the chart's tolerations instead of
    replacing them.
    """
    r = p.resources
    ov: dict[str, Any] = {
        "image": image_ref(p.image, registry, tag),
        "cpu_limit": float(r.cores),
        "cpu_guarantee": float(r.cores * r.guarantee_fraction),
        "mem_limit": _gb(r.memory_gb),
        "mem_guarantee": _gb(r.memory_gb * r.guarantee_fraction),
        "extra_resource_limits": {GPU_RESOURCE: str(r.gpus)},
        "default_url": p.default_url,
        "volumes": {"shm": {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{r.shm_gb:g}Gi"}}},
        "environment": {
            "DAISY_PROFILE": p.slug,
            "DAISY_DASK_CLUSTER_SPEC": f"/etc/daisy/dask/{p.dask_workers}.yaml",
            "DAISY_DASK_MAX_WORKERS": str(p.dask_max_workers),
            # threads of numpy/numba/BLAS in the kernel follow the CPU limit
            "OMP_NUM_THREADS": f"{r.cores:g}",
            "NUMBA_NUM_THREADS": f"{r.cores:g}",
        },
    }
    if r.gpus:
        ov["extra_resource_guarantees"] = {GPU_RESOURCE: str(r.gpus)}
        ov["node_selector"] = dict(GPU_NODE_LABEL)
        ov["tolerations"] = {GPU_RESOURCE: dict(GPU_TOLERATION)}
        ov["service_account"] = GPU_SERVICE_ACCOUNT.format(release=release)
    else:
        # no GPU visible even where the NVIDIA runtime is the node default
        ov["environment"]["NVIDIA_VISIBLE_DEVICES"] = "void"
    if p.kind == "voila":
        # only the apps: the server's root is the apps folder
        ov["args"] = kernel_culling_args() + [f"--ServerApp.root_dir={APPS_DIR}"]
    return ov


def kernel_culling_args() -> list[str]:
    """jupyter-server options that cull idle kernels, Voila's included (they share the kernel manager)."""
    return [
        f"--MappingKernelManager.cull_idle_timeout={CULL_KERNEL_AFTER}",
        f"--MappingKernelManager.cull_interval={CULL_KERNEL_EVERY}",
        "--MappingKernelManager.cull_connected=True",
        "--MappingKernelManager.cull_busy=False",
    ]


def kubespawner_profile_list(registry: str, tag: str, release: str = "daisy") -> list[dict[str, Any]]:
    """KubeSpawner ``profile_list`` (as in ``singleuser.profileList``).

    ``allowed_groups`` is Daisy's own key: KubeSpawner ignores it, the hub hook
    (``hub_config/kubernetes/hub_hooks.py``) filters the list by it per user.
    """
    out = []
    for p in PROFILES:
        entry: dict[str, Any] = {
            "display_name": p.display_name,
            "slug": p.slug,
            "description": p.description,
            "kubespawner_override": kubespawner_override(p, registry, tag, release),
        }
        if p.default:
            entry["default"] = True
        if p.allowed_groups:
            entry["allowed_groups"] = list(p.allowed_groups)
        out.append(entry)
    return out


def dask_cluster_spec(
    workers: str, registry: str, tag: str, release: str = "daisy", n_workers: int = 1
) -> dict[str, Any]:
    """A ``DaskCluster`` (kubernetes.dask.org/v1) spec for the Dask Kubernetes operator.

    Scheduler and workers run the user's image (the CPU or GPU image); GPU
    workers request ``nvidia.com/gpu`` and tolerate the GPU taint. The name is
    set when the cluster is created (``daisy-dask-cluster`` renames it and its
    scheduler service selector per user).
    """
    r = DASK_WORKER_RESOURCES[workers]
    image = image_ref(workers, registry, tag)
    sec = {
        "runAsUser": NB_UID,
        "runAsGroup": NB_GID,
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    limits = {"cpu": f"{r.cores:g}", "memory": f"{r.memory_gb:g}Gi", GPU_RESOURCE: str(r.gpus)}
    requests = {
        "cpu": f"{r.cores * r.guarantee_fraction:g}",
        "memory": f"{r.memory_gb * r.guarantee_fraction:g}Gi",
        GPU_RESOURCE: str(r.gpus),
    }
    worker_args = [
        "dask",
        "worker",
        "--name",
        "$(DASK_WORKER_NAME)",
        "--dashboard",
        "--dashboard-address",
        "8788",
        "--nthreads",
        f"{int(r.cores)}",
        "--memory-limit",
        f"{r.memory_gb:g}GiB",
    ]
    if r.gpus:
        # the Dask resource that workflow steps needing {"gpu": 1} ask for
        # (daisy_widgets.core.resources.DASK_NAMES): their chunks run only on these workers
        worker_args += ["--resources", f"GPU={r.gpus}"]
    worker_pod: dict[str, Any] = {
        "containers": [
            {
                "name": "worker",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "args": worker_args,
                "ports": [{"name": "http-dashboard", "containerPort": 8788, "protocol": "TCP"}],
                "env": [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"}] if not r.gpus else [],
                "resources": {"limits": limits, "requests": requests},
                "securityContext": sec,
                "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
            }
        ],
        "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{r.shm_gb:g}Gi"}}],
    }
    if r.gpus:
        worker_pod["nodeSelector"] = dict(GPU_NODE_LABEL)
        worker_pod["tolerations"] = [dict(GPU_TOLERATION)]
    scheduler_pod = {
        "containers": [
            {
                "name": "scheduler",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "args": [
                    "dask",
                    "scheduler",
                    "--host",
                    "0.0.0.0",
                    "--port",
                    "8786",
                    "--dashboard-address",
                    ":8787",
                ],
                "ports": [
                    {"name": "tcp-comm", "containerPort": 8786, "protocol": "TCP"},
                    {"name": "http-dashboard", "containerPort": 8787, "protocol": "TCP"},
                ],
                "readinessProbe": {
                    "httpGet": {"port": "http-dashboard", "path": "/health"},
                    "initialDelaySeconds": 5,
                    "periodSeconds": 10,
                },
                "resources": {
                    "limits": {"cpu": "1", "memory": "2Gi", GPU_RESOURCE: "0"},
                    "requests": {"cpu": "0.5", "memory": "1Gi", GPU_RESOURCE: "0"},
                },
                "env": [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"}],
                "securityContext": sec,
            }
        ],
    }
    name = f"{release}-dask-{workers}"
    return {
        "apiVersion": "kubernetes.dask.org/v1",
        "kind": "DaskCluster",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/part-of": release, "daisy/workers": workers},
        },
        "spec": {
            "idleTimeout": DASK_CLUSTER_IDLE_TIMEOUT,
            "worker": {"replicas": n_workers, "spec": worker_pod},
            "scheduler": {
                "spec": scheduler_pod,
                "service": {
                    "type": "ClusterIP",
                    "selector": {"dask.org/cluster-name": name, "dask.org/component": "scheduler"},
                    "ports": [
                        {"name": "tcp-comm", "protocol": "TCP", "port": 8786, "targetPort": "tcp-comm"},
                        {
                            "name": "http-dashboard",
                            "protocol": "TCP",
                            "port": 8787,
                            "targetPort": "http-dashboard",
                        },
                    ],
                },
            },
        },
    }


def local_profile_choices() -> list[dict[str, Any]]:
    """The same menu for the local demo hub (no Kubernetes, no GPU).

    Each item: ``slug``, ``display_name``, ``description``, ``default_url``,
    ``runs_locally`` (False: show it greyed out / refuse it locally) and
    ``allowed_groups``.
    """
    return [
        {
            "slug": p.slug,
            "display_name": p.display_name,
            "description": p.description,
            "default_url": p.default_url,
            "runs_locally": p.runs_locally,
            "allowed_groups": list(p.allowed_groups),
            "default": p.default,
        }
        for p in PROFILES
    ]


def _hub_hooks():
    """``hub_config/kubernetes/hub_hooks.py`` (the group rule), imported by path."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "hub_hooks"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent / "kubernetes" / "hub_hooks.py"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def _user_groups(spawner: Any) -> list[str]:
    return sorted(g.name for g in getattr(spawner.user, "groups", []) or [])


def local_options_form(spawner: Any) -> str:
    """HTML of the server menu for the local hub: the user's allowed profiles; the
    ones that need the facility cluster are shown but disabled."""
    import html

    rows = []
    for ch in _hub_hooks().allowed_profiles(local_profile_choices(), _user_groups(spawner)):
        attrs = (" selected" if ch["default"] and ch["runs_locally"] else "") + (
            "" if ch["runs_locally"] else " disabled"
        )
        note = "" if ch["runs_locally"] else " (facility cluster only)"
        rows.append(
            f'<option value="{html.escape(ch["slug"])}"{attrs}>'
            f"{html.escape(ch['display_name'])}{note}</option>"
        )
    return (
        '<label for="daisy-profile">Server</label>'
        '<select id="daisy-profile" name="profile" class="form-control">' + "".join(rows) + "</select>"
    )


def local_options_from_form(formdata: dict[str, list[str]]) -> dict[str, str]:
    """``{"profile": slug}`` from the submitted form."""
    return {"profile": (formdata.get("profile") or [""])[0]}


def _refuse(message: str) -> Exception:
    """An HTTP 400 whose message JupyterHub shows to the user (ValueError outside a hub)."""
    try:
        from tornado.web import HTTPError
    except ImportError:  # pragma: no cover - the hub always has tornado
        return ValueError(message)
    return HTTPError(400, message)


def local_apply_user_options(spawner: Any, user_options: dict[str, Any]) -> None:
    """Check the chosen profile (allowed to the user's groups, runnable locally) and apply its start page.

    Refuses (HTTP 400 with the reason) a profile that is unknown, not allowed,
    or needs the facility cluster.
    """
    choices = _hub_hooks().allowed_profiles(local_profile_choices(), _user_groups(spawner))
    slug = (user_options or {}).get("profile") or next(
        (c["slug"] for c in choices if c["default"] and c["runs_locally"]), "cpu"
    )
    ch = next((c for c in choices if c["slug"] == slug), None)
    if ch is None:
        raise _refuse(
            f"no profile {slug!r} for this user; choose one of " + ", ".join(c["slug"] for c in choices)
        )
    if not ch["runs_locally"]:
        raise _refuse(f"{ch['display_name']} runs only on the facility's Kubernetes cluster")
    spawner.default_url = ch["default_url"]
    spawner.environment = {**spawner.environment, "DAISY_PROFILE": ch["slug"]}


def configure_local_spawner(c: Any) -> None:
    """Give the local demo hub the same profile menu: ``profiles.configure_local_spawner(c)``."""
    c.Spawner.options_form = local_options_form
    c.Spawner.options_from_form = local_options_from_form
    c.Spawner.apply_user_options = local_apply_user_options
