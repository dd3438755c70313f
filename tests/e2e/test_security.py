"""The demo hub refuses what it must: anonymous requests, a wrong password, one user opening another's server."""

from __future__ import annotations

import re
import sys

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_anonymous_user_server_request_goes_to_login(daisy_hub):
    for path in (
        "user/bob/lab",
        "user/bob/voila/render/apps/index.ipynb",
        "user/bob/daisy/apps",
        "user/bob/daisy/apps/resources",
        "user/bob/api/contents",
    ):
        r = requests.get(daisy_hub.url + path, timeout=30)
        # the proxy sends unknown user routes to the hub, which asks for a login
        assert r.url.startswith(daisy_hub.url + "hub/login") or r.status_code in (401, 403), (
            path,
            r.status_code,
            r.url,
        )
        assert "password" in r.text.lower() or r.status_code in (401, 403)


def test_anonymous_hub_api_is_refused(daisy_hub):
    for path in ("hub/api/users", "hub/api/users/alice", "hub/api/users/alice/server"):
        r = requests.get(daisy_hub.url + path, timeout=30)
        assert r.status_code in (401, 403), (path, r.status_code)
    r = requests.post(daisy_hub.url + "hub/api/users/mallory/server", timeout=30)
    assert r.status_code in (401, 403)


def test_wrong_password_is_refused(daisy_hub, e2e_harness):
    session, resp = e2e_harness.requests_login(daisy_hub, "mallory", "not-the-password")
    assert resp.status_code == 403
    assert "Invalid username or password" in resp.text
    assert session.get(daisy_hub.url + "hub/api/user", timeout=30).status_code in (401, 403)
    # and the right one is accepted
    session, resp = e2e_harness.requests_login(daisy_hub, "mallory")
    assert resp.status_code == 302


def test_alice_cannot_open_bobs_server(daisy_hub, e2e_harness):
    bob, resp = e2e_harness.requests_login(daisy_hub, "bob")
    assert resp.status_code == 302
    e2e_harness.wait_server_ready(daisy_hub, bob, "bob")
    assert bob.get(daisy_hub.user_url("bob", "api/contents"), timeout=60).status_code == 200
    alice, resp = e2e_harness.requests_login(daisy_hub, "alice")
    assert resp.status_code == 302
    paths = ("api/contents", "lab", "voila/render/apps/index.ipynb", "daisy/apps", "daisy/apps/resources")
    for path in paths:
        r = alice.get(daisy_hub.user_url("bob", path), timeout=60)
        assert r.status_code == 403, (path, r.status_code, r.url)
        assert "daisy-app-entry" not in r.text and "daisy-res-" not in r.text
    # bob's running server itself sends an anonymous request to the hub's login, not the page
    for path in ("daisy/apps", "daisy/apps/resources"):
        r = requests.get(daisy_hub.user_url("bob", path), timeout=60)
        assert r.url.startswith(daisy_hub.url + "hub/login"), (path, r.status_code, r.url)
        assert "daisy-app-entry" not in r.text and "daisy-res-" not in r.text
    # and bob sees his own
    r = bob.get(daisy_hub.user_url("bob", "daisy/apps"), timeout=60)
    assert r.status_code == 200 and "daisy-app-entry" in r.text
    assert (
        'class="daisy-res-gpu"' in bob.get(daisy_hub.user_url("bob", "daisy/apps/resources"), timeout=60).text
    )
    assert alice.get(daisy_hub.url + "hub/api/users/bob", timeout=30).status_code in (403, 404)


def test_password_file_is_private_and_stable(daisy_hub):
    path = daisy_hub.state_dir / "password"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(daisy_hub.password) >= 12
    assert "password: " + daisy_hub.password in daisy_hub.log()
    assert "DOES NOT ISOLATE USERS" in daisy_hub.log()


def test_demo_data_service_runs_and_wants_its_key(daisy_hub, monkeypatch):
    """``make demo`` starts the data service beside the hub: it answers, refuses anonymous
    requests, serves the sample data with the key (mode 600), and the hub gets its address and key."""
    m = re.search(r"data service: (http://127\.0\.0\.1:\d+/api)", daisy_hub.log())
    assert m, daisy_hub.log()[-2000:]
    url = m.group(1)
    key_file = daisy_hub.state_dir / "tiled_api_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    assert requests.get(url + "/v1/metadata/", timeout=30).status_code == 401
    assert (
        requests.get(url + "/v1/metadata/", headers={"Authorization": "Apikey wrong"}, timeout=30).status_code
        == 401
    )
    r = requests.get(url + "/v1/search/", headers={"Authorization": f"Apikey {key}"}, timeout=30)
    assert r.status_code == 200
    assert {"tomography", "hxmt"} <= {e["id"] for e in r.json()["data"]}
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "daisy_hub_cfg", Path(__file__).resolve().parents[2] / "hub_config" / "daisy_hub.py"
    )
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "daisy_hub_cfg", mod)  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    monkeypatch.delenv("DAISY_TILED_URL", raising=False)
    monkeypatch.delenv("DAISY_TILED_API_KEY", raising=False)
    env = mod.data_service_env(
        mod.HubSettings(
            ip="127.0.0.1",
            port=daisy_hub.port,
            hub_port=0,
            proxy_api_port=0,
            state_dir=daisy_hub.state_dir,
            data_dir=daisy_hub.data_dir,
        )
    )
    assert env == {"DAISY_TILED_URL": url, "DAISY_TILED_API_KEY": key}


def test_each_user_server_gets_its_own_data_service_key(daisy_hub, e2e_harness):
    """The demo's user servers hold their user's derived key, never the master key; with it the
    service serves the shared data and refuses another user's area."""
    import psutil

    from daisy_widgets.store.access import user_api_key

    session, resp = e2e_harness.requests_login(daisy_hub, "erin")
    assert resp.status_code == 302
    e2e_harness.wait_server_ready(daisy_hub, session, "erin")
    master = (daisy_hub.state_dir / "tiled_api_key").read_text().strip()
    keys = []
    for proc in psutil.Process(daisy_hub.proc.pid).children(recursive=True):
        try:
            env = proc.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        if env.get("JUPYTERHUB_USER") == "erin" and "jupyterhub-singleuser" in " ".join(proc.cmdline()):
            keys.append(env.get("DAISY_TILED_API_KEY"))
    assert keys and set(keys) == {user_api_key(master, "erin")}
    url = re.search(r"data service: (http://127\.0\.0\.1:\d+/api)", daisy_hub.log()).group(1)
    erin = {"Authorization": f"Apikey {keys[0]}"}
    assert requests.get(url + "/v1/search/hxmt", headers=erin, timeout=30).status_code == 200
    assert requests.get(url + "/v1/metadata/users/bob", headers=erin, timeout=30).status_code == 403
