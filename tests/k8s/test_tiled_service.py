"""The Tiled data service manifests: PostgreSQL catalog, data read-only, API key from a Secret."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TILED = REPO / "hub_config" / "kubernetes" / "tiled" / "tiled.yaml"


@pytest.fixture(scope="module")
def docs():
    return {d["kind"] + "/" + d["metadata"]["name"]: d for d in yaml.safe_load_all(TILED.read_text())}


def _check():
    spec = importlib.util.spec_from_file_location(
        "daisy_k8s_conftest3", Path(__file__).with_name("conftest.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.k8s_unknown_fields


def test_manifests_use_real_kubernetes_fields(docs):
    check = _check()
    for key, d in docs.items():
        model = "V1" + d["kind"]
        rest = {k: v for k, v in d.items() if k not in ("apiVersion", "kind")}
        assert not check(rest, model, key), check(rest, model, key)
    # the checker does catch a misspelt field
    bad = dict(docs["Deployment/daisy-tiled"]["spec"]["template"]["spec"])
    bad["nodeselector"] = {}
    assert check(bad, "V1PodSpec") == [".nodeselector (not a field of V1PodSpec)"]


def _service_container(docs):
    (c,) = docs["Deployment/daisy-tiled"]["spec"]["template"]["spec"]["containers"]
    return c


def test_no_secret_objects_and_keys_come_from_secrets(docs, values):
    assert not [k for k in docs if k.startswith("Secret/")]
    env = {e["name"]: e for e in _service_container(docs)["env"]}
    hub_key = values["hub"]["extraEnv"]["DAISY_TILED_MASTER_KEY"]["valueFrom"]["secretKeyRef"]
    # the service checks the master key the hub holds (the hub derives each user's key from it);
    # no user pod gets the master key
    assert env["DAISY_TILED_API_KEY"]["valueFrom"]["secretKeyRef"] == hub_key
    assert "DAISY_TILED_API_KEY" not in values["singleuser"]["extraEnv"]
    assert "value" not in env["DAISY_TILED_API_KEY"] and "value" not in env["POSTGRES_PASSWORD"]
    (pg,) = docs["StatefulSet/daisy-postgres"]["spec"]["template"]["spec"]["containers"]
    pg_env = {e["name"]: e for e in pg["env"]}
    assert pg_env["POSTGRES_PASSWORD"]["valueFrom"] == env["POSTGRES_PASSWORD"]["valueFrom"]
    # the catalog URI takes the password from the variable before it (Kubernetes $(VAR) expansion)
    names = [e["name"] for e in _service_container(docs)["env"]]
    assert names.index("POSTGRES_PASSWORD") < names.index("DAISY_CATALOG_URI")
    assert "$(POSTGRES_PASSWORD)@daisy-postgres:5432/tiled" in env["DAISY_CATALOG_URI"]["value"]


def test_service_runs_daisy_on_the_user_image(docs, values):
    """The pod runs ``daisy data serve`` (Daisy's catalog: scans and HXMT observations with their
    searchable metadata) on the same image as the user servers."""
    c = _service_container(docs)
    assert c["args"][:4] == ["daisy", "data", "serve", "/data"]
    assert c["image"] == f"{values['singleuser']['image']['name']}:{values['singleuser']['image']['tag']}"


def test_data_volume_read_only_and_catalog_in_postgres(docs, values):
    pod = docs["Deployment/daisy-tiled"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    data = next(m for m in c["volumeMounts"] if m["mountPath"] == "/data")
    assert data["readOnly"] is True
    vol = next(v for v in pod["volumes"] if v["name"] == data["name"])
    assert vol["persistentVolumeClaim"]["readOnly"] is True
    # the same claim the user pods mount per proposal
    hook_cfg = values["hub"]["extraConfig"]["10-daisy"]
    assert f'"data_pvc": "{vol["persistentVolumeClaim"]["claimName"]}"' in hook_cfg
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["DAISY_CATALOG_URI"].startswith("postgresql+asyncpg://tiled:")
    # what users write back goes to a claim of the service's own, never to the data volume
    state = next(m for m in c["volumeMounts"] if m["mountPath"] == env["DAISY_STATE_DIR"])
    claim = next(v for v in pod["volumes"] if v["name"] == state["name"])["persistentVolumeClaim"][
        "claimName"
    ]
    assert f"PersistentVolumeClaim/{claim}" in docs and not state.get("readOnly")
    # postgres only reachable from the service
    pol = docs["NetworkPolicy/daisy-postgres"]["spec"]
    assert pol["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "daisy-tiled"}}}
    ]


def test_user_pods_reach_the_service(docs, values):
    svc = docs["Service/daisy-tiled"]
    port = svc["spec"]["ports"][0]["port"]
    assert values["singleuser"]["extraEnv"]["DAISY_TILED_URL"] == f"http://{svc['metadata']['name']}:{port}"
    rule = values["singleuser"]["networkPolicy"]["egress"][0]
    assert rule["to"][0]["podSelector"]["matchLabels"] == svc["spec"]["selector"]
    assert rule["ports"] == [{"port": port, "protocol": "TCP"}]


def test_the_pods_command_runs_and_requires_the_key(docs, tmp_path):
    """The container's own command and environment, run here: the catalog on SQLite instead of
    PostgreSQL, a small data folder for /data, a free loopback port; without the key: 401,
    with it the simulated observation is found by its searchable metadata."""
    pytest.importorskip("tiled.server")
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from daisy_widgets.hxmt.simulate import write_sample_observations

    c = _service_container(docs)
    data = tmp_path / "data"
    write_sample_observations(tmp_path / "sample", n=1, exposure=200.0, instruments=("HE",))
    (tmp_path / "sample" / "data").rename(data)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key = "0123456789abcdef" * 4
    env = {e["name"]: e.get("value") for e in c["env"]}
    run_env = dict(
        os.environ,
        DAISY_TILED_API_KEY=key,
        DAISY_STATE_DIR=str(tmp_path / "state"),
        DAISY_CATALOG_URI=f"sqlite:///{tmp_path}/catalog.db",
    )
    assert set(env) == {"DAISY_TILED_API_KEY", "POSTGRES_PASSWORD", "DAISY_CATALOG_URI", "DAISY_STATE_DIR"}
    args = [
        str(data) if a == "/data" else "127.0.0.1" if a == "0.0.0.0" else str(port) if a == "8000" else a
        for a in c["args"]
    ]
    assert args[0] == "daisy"
    log = tmp_path / "serve.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daisy_widgets.cli", *args[1:]],
            env=run_env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        assert httpx.get(base + "/api/v1/search/hxmt").status_code == 401
        r = httpx.get(base + "/api/v1/search/hxmt", headers={"Authorization": "Apikey " + key})
        assert r.status_code == 200
        (entry,) = r.json()["data"]
        assert entry["attributes"]["metadata"]["target"] == "Crab"
        assert "from DAISY_TILED_API_KEY" in log.read_text() and key not in log.read_text()
    finally:
        proc.terminate()
        proc.wait(20)


def test_postgres_matches_the_tests_cluster(docs):
    """The StatefulSet runs the PostgreSQL major version and settings of the tests' cluster."""
    from daisy_widgets.store.catalog_uri import POSTGRES_MAJOR, POSTGRES_SETTINGS

    (pg,) = docs["StatefulSet/daisy-postgres"]["spec"]["template"]["spec"]["containers"]
    assert pg["image"].split(":")[-1].split(".")[0] == str(POSTGRES_MAJOR)
    args = pg["args"]
    assert {args[i + 1] for i in range(0, len(args), 2)} == {f"{k}={v}" for k, v in POSTGRES_SETTINGS.items()}
    assert set(args[::2]) == {"-c"}
