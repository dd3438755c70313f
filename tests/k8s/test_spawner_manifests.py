"""Real KubeSpawner objects built from the rendered Helm values: the pod each profile gets.

The hub's configuration is rebuilt from ``values.yaml`` the way the chart does
(``conftest.z2jh_config``), including Daisy's ``hub.extraConfig`` and the
``hub_hooks.py`` shipped in ``hub.extraFiles``. Users and groups are real
JupyterHub ORM objects (in-memory SQLite). Only the Kubernetes client
configuration is patched out; nothing talks to a cluster.
"""

from __future__ import annotations

import json

import pytest
from jupyterhub import orm
from jupyterhub.user import User
from kubespawner import spawner as ks_mod

GIB = 1024**3

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


class _Hub:
    public_host = "daisy.example.org"
    url = "http://hub:8081/hub/"
    base_url = "/hub/"
    api_url = "http://hub:8081/hub/api"


@pytest.fixture(scope="module")
def config(values, tmp_path_factory, request):
    return _load_z2jh()(values, tmp_path_factory.mktemp("hub-hooks"))


def _load_z2jh():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("conftest.py")
    spec = importlib.util.spec_from_file_location("daisy_k8s_conftest", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.z2jh_config


@pytest.fixture(scope="module")
def db():
    return orm.new_session_factory("sqlite://")()


@pytest.fixture(autouse=True)
def no_kube_config(monkeypatch):
    monkeypatch.setattr(ks_mod, "load_config", lambda **kw: None)


def make_user(db, name: str, groups: list[str]) -> User:
    u = orm.User(name=name)
    db.add(u)
    for g in groups:
        grp = db.query(orm.Group).filter_by(name=g).first() or orm.Group(name=g)
        u.groups.append(grp)
    db.commit()
    return User(u, settings={})


def make_spawner(config, user: User) -> ks_mod.KubeSpawner:
    return ks_mod.KubeSpawner(config=config, user=user, hub=_Hub(), _mock=True)


async def pod_for(config, user: User, profile: str | None) -> dict:
    """Do what JupyterHub + KubeSpawner do before creating the pod; return the manifest as JSON."""
    sp = make_spawner(config, user)
    sp.user_options = {"profile": profile} if profile else {}
    await _maybe_await(sp.run_pre_spawn_hook())
    await sp.load_user_options()
    pod = await sp.get_pod_manifest()
    return sp.api.api_client.sanitize_for_serialization(pod)


async def _maybe_await(x):
    if hasattr(x, "__await__"):
        await x


def container(pod: dict) -> dict:
    (c,) = pod["spec"]["containers"]
    return c


def env_of(pod: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(pod)["env"]}


@pytest.fixture(scope="module")
def beamtime_user(db):
    return make_user(db, "alice", ["beamtime-2026-042", "proposal-20261234", "proposal-20250007"])


@pytest.fixture(scope="module")
def plain_user(db):
    return make_user(db, "bob", ["proposal-20251111"])


@pytest.mark.parametrize("slug", ["cpu", "gpu", "voila"])
async def test_profile_pod_resources_and_placement(config, beamtime_user, profiles, values, slug):
    p = profiles.profile(slug)
    pod = await pod_for(config, beamtime_user, slug)
    c = container(pod)
    registry_image = values["singleuser"]["image"]["name"]
    tag = values["singleuser"]["image"]["tag"]
    expected_image = registry_image + ("-gpu" if p.image == "gpu" else "") + ":" + tag
    assert c["image"] == expected_image

    lim, req = c["resources"]["limits"], c["resources"]["requests"]
    assert lim["cpu"] == p.resources.cores
    assert lim["memory"] == p.resources.memory_gb * GIB
    assert req["cpu"] == pytest.approx(p.resources.cores * p.resources.guarantee_fraction)
    assert req["memory"] == p.resources.memory_gb * p.resources.guarantee_fraction * GIB
    # the GPU limit is always explicit: "1" on the GPU profile, "0" elsewhere
    assert lim["nvidia.com/gpu"] == ("1" if slug == "gpu" else "0")

    assert pod["spec"]["serviceAccountName"] == ("daisy-user-gpu" if slug == "gpu" else "daisy-user")
    # the chart's user-node preference and user scheduler still apply
    pref = pod["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert pref[0]["preference"]["matchExpressions"][0]["key"] == "hub.jupyter.org/node-purpose"
    assert pod["spec"]["schedulerName"] == "user-scheduler"
    tolerations = pod["spec"].get("tolerations", [])
    gpu_tol = [t for t in tolerations if t["key"] == "nvidia.com/gpu"]
    # the chart's own user-node tolerations survive the profile override
    assert {"hub.jupyter.org/dedicated", "hub.jupyter.org_dedicated"} <= {t["key"] for t in tolerations}
    if slug == "gpu":
        assert gpu_tol == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}]
        assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert req["nvidia.com/gpu"] == "1"
        assert "NVIDIA_VISIBLE_DEVICES" not in env_of(pod)
    else:
        assert gpu_tol == []
        assert "nvidia.com/gpu.present" not in (pod["spec"].get("nodeSelector") or {})
        assert env_of(pod)["NVIDIA_VISIBLE_DEVICES"] == "void"


@pytest.mark.parametrize("slug", ["cpu", "gpu", "voila"])
async def test_profile_pod_volumes_and_mounts(config, beamtime_user, profiles, slug):
    p = profiles.profile(slug)
    pod = await pod_for(config, beamtime_user, slug)
    vols = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in container(pod)["volumeMounts"]}

    # writable home on the user's own claim
    home = mounts["/home/jovyan"]
    assert not home.get("readOnly")
    assert vols[home["name"]]["persistentVolumeClaim"]["claimName"] == "claim-alice"

    # /dev/shm in memory, sized from the profile's memory
    assert mounts["/dev/shm"]["name"] == "shm"
    assert vols["shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": f"{p.resources.shm_gb:g}Gi"}
    assert p.resources.shm_gb == pytest.approx(p.resources.memory_gb * profiles.SHM_FRACTION)

    # each proposal of the user: its own sub-directory, read-only
    for pid in ("20261234", "20250007"):
        m = mounts[f"/data/proposals/{pid}"]
        assert m["readOnly"] is True and m["subPath"] == f"proposals/{pid}"
        assert vols[m["name"]]["persistentVolumeClaim"] == {"claimName": "daisy-data", "readOnly": True}
    assert not any(k.startswith("/data/proposals/20251111") for k in mounts)  # bob's proposal

    # the Dask cluster spec of this profile is in the pod
    spec_path = f"/etc/daisy/dask/{p.dask_workers}.yaml"
    assert spec_path in mounts and env_of(pod)["DAISY_DASK_CLUSTER_SPEC"] == spec_path


@pytest.mark.parametrize("slug", ["cpu", "gpu", "voila"])
async def test_profile_pod_environment_and_security(config, beamtime_user, profiles, slug, monkeypatch):
    from daisy_widgets.store.access import user_api_key, user_of_key

    master = "5e" * 32  # what the hub pod reads from its Secret (hub.extraEnv)
    monkeypatch.setenv("DAISY_TILED_MASTER_KEY", master)
    p = profiles.profile(slug)
    pod = await pod_for(config, beamtime_user, slug)
    env = env_of(pod)
    # the data-service key of this user only, derived by the hub; the master key is nowhere in the pod
    assert env["DAISY_TILED_API_KEY"] == user_api_key(master, "alice")
    assert user_of_key(env["DAISY_TILED_API_KEY"], master) == "alice"
    assert master not in json.dumps(pod)
    assert env["DAISY_TILED_URL"] == "http://daisy-tiled:8000"
    # Dask: dashboard through the server's proxy, threads follow the CPU limit
    assert env["DASK_DISTRIBUTED__DASHBOARD__LINK"] == "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"
    assert env["OMP_NUM_THREADS"] == f"{p.resources.cores:g}"
    assert env["DAISY_DASK_MAX_WORKERS"] == str(p.dask_max_workers)
    assert env["DAISY_PROPOSALS"] == "20250007,20261234"
    assert env["JUPYTERHUB_DEFAULT_URL"] == p.default_url

    sc = container(pod)["securityContext"]
    assert sc["runAsUser"] == 1000 and sc["runAsGroup"] == 100 and sc["runAsNonRoot"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert "privileged" not in sc or sc["privileged"] is False
    assert pod["spec"]["securityContext"]["fsGroup"] == 100
    assert not pod["spec"].get("initContainers")  # no privileged iptables init container

    args = container(pod)["args"]
    assert args[0] == "start-singleuser.py"
    assert f"--MappingKernelManager.cull_idle_timeout={profiles.CULL_KERNEL_AFTER}" in args
    if slug == "voila":
        assert f"--ServerApp.root_dir={profiles.APPS_DIR}" in args


async def test_gpu_profile_hidden_and_refused_without_a_beamtime_group(config, plain_user):
    sp = make_spawner(config, plain_user)
    visible = [p["slug"] for p in await _profiles_for(sp)]
    assert visible == ["cpu", "voila"]
    form = await sp.get_options_form()
    assert "CPU (4 cores, 16 GB)" in form and "Voila app only" in form
    assert "NVIDIA GPU" not in form
    # a spawn through the REST API naming the GPU profile is refused
    sp.user_options = {"profile": "gpu"}
    with pytest.raises(ValueError, match="No such profile: gpu"):
        await sp.load_user_options()


async def test_beamtime_member_sees_all_three_profiles(config, beamtime_user):
    sp = make_spawner(config, beamtime_user)
    assert [p["slug"] for p in await _profiles_for(sp)] == ["cpu", "gpu", "voila"]
    form = await sp.get_options_form()
    assert "GPU (1 NVIDIA GPU, 8 cores, 64 GB)" in form
    # the form's choice reaches the pod
    sp.user_options = sp._options_from_form({"profile": ["gpu"]})
    await sp.load_user_options()
    assert sp.extra_resource_limits["nvidia.com/gpu"] == "1"


async def test_default_profile_is_cpu(config, plain_user):
    pod = await pod_for(config, plain_user, None)
    assert container(pod)["resources"]["limits"]["nvidia.com/gpu"] == "0"
    assert container(pod)["resources"]["limits"]["cpu"] == 4


async def test_group_names_cannot_escape_the_data_folder(config, db):
    user = make_user(db, "mallory", ["proposal-../../etc", "proposal-", "proposal-.hidden", "proposal-ok_1"])
    pod = await pod_for(config, user, "cpu")
    data = sorted(m["subPath"] for m in container(pod)["volumeMounts"] if m["mountPath"].startswith("/data"))
    assert data == ["proposals/ok_1"]


async def test_spawners_do_not_leak_profile_overrides(config, beamtime_user, plain_user):
    """A GPU spawn must not leave the GPU toleration or proposals in the shared config."""
    await pod_for(config, beamtime_user, "gpu")
    pod = await pod_for(config, plain_user, "cpu")
    assert not [t for t in pod["spec"]["tolerations"] if t["key"] == "nvidia.com/gpu"]
    mounts = [m["mountPath"] for m in container(pod)["volumeMounts"]]
    assert "/data/proposals/20261234" not in mounts and "/data/proposals/20251111" in mounts
    assert json.dumps(pod).count("daisy-singleuser-gpu") == 0


async def _profiles_for(sp):
    pl = sp.profile_list
    return pl(sp) if callable(pl) else pl
