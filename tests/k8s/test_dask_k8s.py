"""Dask on Kubernetes (Dask Kubernetes operator): cluster specs well-formed and consistent with the profiles."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DASK = REPO / "hub_config" / "kubernetes" / "dask"


def _conftest():
    spec = importlib.util.spec_from_file_location(
        "daisy_k8s_conftest2", Path(__file__).with_name("conftest.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load(name: str):
    return yaml.safe_load((DASK / name).read_text())


def _crd_schema():
    spec = importlib.util.find_spec("dask_kubernetes")
    if spec is None:
        pytest.skip("dask-kubernetes not installed: the DaskCluster CRD schema comes with it")
    crd = (
        Path(spec.origin).parent
        / "operator"
        / "deployment"
        / "helm"
        / "dask-kubernetes-operator"
        / "crds"
        / "daskcluster.yaml"
    )
    doc = yaml.safe_load(crd.read_text())
    (version,) = [v for v in doc["spec"]["versions"] if v["name"] == "v1"]
    return version["schema"]["openAPIV3Schema"]


@pytest.mark.parametrize("workers", ["cpu", "gpu"])
def test_daskcluster_validates_against_the_operator_crd(workers):
    import jsonschema

    schema = _crd_schema()
    spec = load(f"daskcluster-{workers}.yaml")
    assert spec["apiVersion"] == "kubernetes.dask.org/v1" and spec["kind"] == "DaskCluster"
    jsonschema.Draft7Validator(schema).validate(spec)
    # pod specs: every field is a real PodSpec field (the CRD leaves them open)
    check = _conftest().k8s_unknown_fields
    assert not check(spec["spec"]["worker"]["spec"], "V1PodSpec", "worker")
    assert not check(spec["spec"]["scheduler"]["spec"], "V1PodSpec", "scheduler")
    assert not check(spec["spec"]["scheduler"]["service"], "V1ServiceSpec", "service")


@pytest.mark.parametrize("workers", ["cpu", "gpu"])
def test_workers_match_the_profile_and_image(workers, profiles, values):
    spec = load(f"daskcluster-{workers}.yaml")
    r = profiles.DASK_WORKER_RESOURCES[workers]
    (w,) = spec["spec"]["worker"]["spec"]["containers"]
    (s,) = spec["spec"]["scheduler"]["spec"]["containers"]
    # workers and scheduler run the image of the profile that uses them
    users = [p for p in values["singleuser"]["profileList"] if p["slug"] == workers]
    assert w["image"] == s["image"] == users[0]["kubespawner_override"]["image"]
    assert w["resources"]["limits"] == {
        "cpu": f"{r.cores:g}",
        "memory": f"{r.memory_gb:g}Gi",
        "nvidia.com/gpu": str(r.gpus),
    }
    assert f"{r.memory_gb:g}GiB" in w["args"] and str(int(r.cores)) in w["args"]
    pod = spec["spec"]["worker"]["spec"]
    if r.gpus:
        assert pod["nodeSelector"] == profiles.GPU_NODE_LABEL
        assert pod["tolerations"] == [profiles.GPU_TOLERATION]
        assert w["args"][-2:] == ["--resources", "GPU=1"]  # tasks can ask for a GPU
    else:
        assert "tolerations" not in pod and "nodeSelector" not in pod
        assert {"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"} in w["env"]
    assert s["resources"]["limits"]["nvidia.com/gpu"] == "0"  # the scheduler never holds a GPU
    for c in (w, s):
        assert c["securityContext"]["runAsNonRoot"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["spec"]["idleTimeout"] == profiles.DASK_CLUSTER_IDLE_TIMEOUT > 0
    svc = spec["spec"]["scheduler"]["service"]
    assert svc["selector"] == {
        "dask.org/cluster-name": spec["metadata"]["name"],
        "dask.org/component": "scheduler",
    }
    assert {p["port"] for p in svc["ports"]} == {8786, 8787}


def test_each_profile_points_at_a_shipped_cluster_spec(profiles, values):
    files = {f["mountPath"]: f["data"] for f in values["singleuser"]["extraFiles"].values()}
    for p in values["singleuser"]["profileList"]:
        path = p["kubespawner_override"]["environment"]["DAISY_DASK_CLUSTER_SPEC"]
        assert path in files
        assert files[path] == load(Path(path).name.replace(".yaml", "").join(["daskcluster-", ".yaml"]))
        assert int(p["kubespawner_override"]["environment"]["DAISY_DASK_MAX_WORKERS"]) >= 1
    # a CPU session must not create GPU workers
    cpu = next(p for p in values["singleuser"]["profileList"] if p["slug"] == "cpu")
    assert cpu["kubespawner_override"]["environment"]["DAISY_DASK_CLUSTER_SPEC"].endswith("/cpu.yaml")


def test_local_default_stays_localcluster(values):
    """Nothing in the user pods points Dask at a scheduler: without --scheduler the engine starts a LocalCluster."""
    env = dict(values["singleuser"]["extraEnv"])
    for p in values["singleuser"]["profileList"]:
        env.update(p["kubespawner_override"]["environment"])
    assert not [k for k in env if k in ("DASK_SCHEDULER_ADDRESS", "DASK_SCHEDULER") or "GATEWAY" in k]
    import inspect

    from daisy_widgets.core import engine

    assert inspect.signature(engine.DaskEngine.__init__).parameters["scheduler"].default is None


def test_user_pods_may_reach_dask_and_create_clusters(values):
    egress = values["singleuser"]["networkPolicy"]["egress"]
    assert any(
        sel.get("podSelector", {}).get("matchExpressions", [{}])[0].get("key") == "dask.org/component"
        for rule in egress
        for sel in rule["to"]
    )
    docs = list(yaml.safe_load_all((DASK / "rbac.yaml").read_text()))
    accounts = [d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"]
    assert values["singleuser"]["serviceAccountName"] in accounts
    role = next(d for d in docs if d["kind"] == "Role")
    dask_rule = next(r for r in role["rules"] if r["apiGroups"] == ["kubernetes.dask.org"])
    assert {"daskclusters", "daskworkergroups"} <= set(dask_rule["resources"]) and "create" in dask_rule[
        "verbs"
    ]
    # nothing beyond reading pods/services in the core API (no secrets, no exec)
    core = [r for r in role["rules"] if r["apiGroups"] == [""]]
    assert all(set(r["resources"]) <= {"pods", "services", "pods/log"} for r in core)
    assert all(set(r["verbs"]) <= {"get", "list", "watch"} for r in core)


def _policy():
    docs = list(yaml.safe_load_all((DASK / "rbac.yaml").read_text()))
    pol = next(d for d in docs if d["kind"] == "ValidatingAdmissionPolicy")
    binding = next(d for d in docs if d["kind"] == "ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["policyName"] == pol["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    return pol


def _cel(expr: str, obj: dict, user: str) -> bool:
    celpy = pytest.importorskip("celpy", reason="cel-python not installed: CEL expressions not evaluated")
    env = celpy.Environment()
    prg = env.program(env.compile(expr))
    act = {
        "object": celpy.json_to_cel(obj),
        "request": celpy.json_to_cel({"userInfo": {"username": user}, "namespace": "jhub"}),
    }
    return bool(prg.evaluate(act))


def test_admission_policy_keeps_gpu_workers_to_gpu_sessions(values, profiles):
    """The policy's CEL, evaluated with cel-python: who may create which Dask cluster."""
    pol = _policy()["spec"]
    cpu_sa = f"system:serviceaccount:jhub:{values['singleuser']['serviceAccountName']}"
    gpu_prof = next(p for p in values["singleuser"]["profileList"] if p["slug"] == "gpu")
    gpu_sa = f"system:serviceaccount:jhub:{gpu_prof['kubespawner_override']['service_account']}"
    cond = pol["matchConditions"][0]["expression"]
    assert _cel(cond, {}, cpu_sa) and _cel(cond, {}, gpu_sa)
    assert not _cel(cond, {}, "system:serviceaccount:dask-operator:dask-kubernetes-operator")

    def allowed(spec, user):
        return all(_cel(v["expression"], spec, user) for v in pol["validations"])

    gpu, cpu = load("daskcluster-gpu.yaml"), load("daskcluster-cpu.yaml")
    assert allowed(gpu, gpu_sa) and allowed(cpu, gpu_sa) and allowed(cpu, cpu_sa)
    assert not allowed(gpu, cpu_sa)
    big = yaml.safe_load(yaml.safe_dump(gpu))
    big["spec"]["worker"]["replicas"] = profiles.profile("gpu").dask_max_workers + 1
    assert not allowed(big, gpu_sa)
    big = yaml.safe_load(yaml.safe_dump(cpu))
    big["spec"]["worker"]["replicas"] = max(p.dask_max_workers for p in profiles.PROFILES) + 1
    assert not allowed(big, cpu_sa)


def test_gpu_sessions_run_as_the_gpu_service_account(values):
    docs = list(yaml.safe_load_all((DASK / "rbac.yaml").read_text()))
    accounts = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"}
    for p in values["singleuser"]["profileList"]:
        sa = p["kubespawner_override"].get("service_account", values["singleuser"]["serviceAccountName"])
        assert sa in accounts
        assert sa.endswith("-gpu") == (p["slug"] == "gpu")
    rb = next(d for d in docs if d["kind"] == "RoleBinding")
    assert {s["name"] for s in rb["subjects"]} == accounts


def test_rbac_manifests_use_real_kubernetes_fields():
    check = _conftest().k8s_unknown_fields
    for d in yaml.safe_load_all((DASK / "rbac.yaml").read_text()):
        rest = {k: v for k, v in d.items() if k not in ("apiVersion", "kind")}
        assert not check(rest, "V1" + d["kind"], d["kind"])
