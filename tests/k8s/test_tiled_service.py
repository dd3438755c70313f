"""The Tiled data service manifests: PostgreSQL catalog, data read-only, API key from a Secret."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TILED = REPO / "hub_config" / "kubernetes" / "tiled" / "tiled.yaml"


@pytest.fixture(scope="module")
def docs():
    return {d["kind"] + "/" + d["metadata"]["name"]: d for d in yaml.safe_load_all(TILED.read_text())}


def _check():
    spec = importlib.util.spec_from_file_location("daisy_k8s_conftest3", Path(__file__).with_name("conftest.py"))
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


def test_no_secret_objects_and_keys_come_from_secrets(docs, values):
    assert not [k for k in docs if k.startswith("Secret/")]
    (tiled,) = docs["Deployment/daisy-tiled"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in tiled["env"]}
    user_key = values["singleuser"]["extraEnv"]["DAISY_TILED_API_KEY"]["valueFrom"]["secretKeyRef"]
    # the key the service checks is the key the user pods get
    assert env["TILED_SINGLE_USER_API_KEY"]["valueFrom"]["secretKeyRef"] == user_key
    assert "value" not in env["TILED_SINGLE_USER_API_KEY"] and "value" not in env["POSTGRES_PASSWORD"]
    (pg,) = docs["StatefulSet/daisy-postgres"]["spec"]["template"]["spec"]["containers"]
    pg_env = {e["name"]: e for e in pg["env"]}
    assert pg_env["POSTGRES_PASSWORD"]["valueFrom"] == env["POSTGRES_PASSWORD"]["valueFrom"]


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
    cfg = yaml.safe_load(docs["ConfigMap/daisy-tiled-config"]["data"]["config.yml"])
    args = cfg["trees"][0]["args"]
    assert args["uri"].startswith("postgresql+asyncpg://tiled:${POSTGRES_PASSWORD}@daisy-postgres:5432/")
    assert args["readable_storage"] == ["/data"] and "writable_storage" not in args
    assert cfg["authentication"]["allow_anonymous_access"] is False
    # postgres only reachable from the service
    pol = docs["NetworkPolicy/daisy-postgres"]["spec"]
    assert pol["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "daisy-tiled"}}}]


def test_user_pods_reach_the_service(docs, values):
    svc = docs["Service/daisy-tiled"]
    port = svc["spec"]["ports"][0]["port"]
    assert values["singleuser"]["extraEnv"]["DAISY_TILED_URL"] == f"http://{svc['metadata']['name']}:{port}"
    rule = values["singleuser"]["networkPolicy"]["egress"][0]
    assert rule["to"][0]["podSelector"]["matchLabels"] == svc["spec"]["selector"]
    assert rule["ports"] == [{"port": port, "protocol": "TCP"}]


def test_tiled_config_runs_and_requires_the_key(docs, tmp_path, monkeypatch):
    """Tiled itself parses the shipped config and serves it; without the key: 401.

    The catalog is switched to SQLite in a temporary folder (no PostgreSQL
    here); everything else (authentication, storage layout) is the shipped config.
    """
    pytest.importorskip("tiled.server")
    from tiled.config import parse_configs
    from tiled.server.app import build_app_from_config

    cfg_text = docs["ConfigMap/daisy-tiled-config"]["data"]["config.yml"]
    monkeypatch.setenv("TILED_SINGLE_USER_API_KEY", "testkeynotasecret")
    monkeypatch.setenv("POSTGRES_PASSWORD", "pw")
    shipped = tmp_path / "shipped.yml"
    shipped.write_text(cfg_text)
    parsed = parse_configs(str(shipped))             # tiled's own schema validation and ${VAR} expansion
    assert parsed.trees[0].args["uri"].endswith("tiled:pw@daisy-postgres:5432/tiled")
    assert parsed.trees[0].tree_type.__name__ == "from_uri"       # the SQL catalog adapter

    cfg = yaml.safe_load(cfg_text)
    cfg["trees"][0]["args"].update(uri=f"sqlite:///{tmp_path}/catalog.db", readable_storage=[str(tmp_path)])
    local = tmp_path / "local.yml"
    local.write_text(yaml.safe_dump(cfg))
    app = build_app_from_config(parse_configs(str(local)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
        with TestClient(app) as client:
            assert client.get("/api/v1/metadata/").status_code == 401
            ok = client.get("/api/v1/metadata/", headers={"Authorization": "Apikey testkeynotasecret"})
            assert ok.status_code == 200
