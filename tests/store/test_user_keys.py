"""Per-user keys of the data service: the shared data read-only, one's own area read-write,
nothing of another user; a forged key is refused."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from daisy_widgets.store import connect, fetch_products, search_observations, write_products, write_volume
from daisy_widgets.store.access import refusal, user_api_key, user_of_key


def _as(monkeypatch, service, user):
    monkeypatch.setenv("DAISY_TILED_API_KEY", user_api_key(service.key, user))
    monkeypatch.setenv("JUPYTERHUB_USER", user)


def test_key_derivation_is_checked():
    master = "a" * 64
    k = user_api_key(master, "dr.who-2")
    assert user_of_key(k, master) == "dr.who-2" and k.replace("_", "").isalnum()
    assert user_of_key(k, "b" * 64) is None  # another service's key
    forged = user_api_key(master, "bob").split("_")[0] + "_" + k.split("_")[1]
    assert user_of_key(forged, master) is None  # alice's MAC with bob's name
    assert user_of_key(master, master) is None and user_of_key(None, master) is None


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/search/hxmt", True),
        ("GET", "/api/v1/array/full/tomography/dx_scan/exchange/data", True),
        ("POST", "/api/v1/metadata/tomography", False),
        ("DELETE", "/api/v1/metadata/hxmt/P0101299001", False),
        ("GET", "/api/v1/metadata/users", True),
        ("GET", "/api/v1/search/users", False),
        ("GET", "/api/v1/search/users/alice", True),
        ("PUT", "/api/v1/array/full/users/alice/vol", True),
        ("GET", "/api/v1/metadata/users/bob/vol", False),
        ("GET", "/api/v1/asset/bytes/users/bob/x/file", False),
        ("DELETE", "/api/v1/metadata/users/bob/vol", False),
    ],
)
def test_rules(method, path, allowed):
    assert (refusal(method, path, "alice") is None) is allowed


def test_users_work_in_their_area_and_cannot_reach_anothers(service, env, monkeypatch, tmp_path):
    base = service.url.removesuffix("/api")
    _as(monkeypatch, service, "carol")
    vol = np.arange(8, dtype=np.float32).reshape(2, 4)
    assert write_volume(vol, "recon", {"algorithm": "fbp"}) == "users/carol/recon"
    np.testing.assert_array_equal(connect()["users"]["carol"]["recon"].read().compute(), vol)
    notes = tmp_path / "fit.txt"
    notes.write_text("Gamma = 2.1\n")
    write_products([notes], "fit", {"obs": "x"})
    assert [p.read_text() for p in fetch_products("users/carol/fit", tmp_path / "back")] == ["Gamma = 2.1\n"]
    assert len(search_observations(target="crab")) > 0  # the shared data, read
    carol_key = user_api_key(service.key, "carol")

    _as(monkeypatch, service, "dave")
    dave = {"Authorization": "Apikey " + user_api_key(service.key, "dave")}
    r = httpx.get(base + "/api/v1/metadata/users/carol/recon", headers=dave)
    assert r.status_code == 403 and "another user's area" in r.json()["detail"]
    assert httpx.get(base + "/api/v1/array/full/users/carol/recon", headers=dave).status_code == 403
    assert httpx.get(base + "/api/v1/search/users", headers=dave).status_code == 403  # who else is there
    assert httpx.delete(base + "/api/v1/metadata/users/carol/recon", headers=dave).status_code == 403
    r = httpx.post(
        base + "/api/v1/metadata/tomography",
        headers=dave,
        json={"structure_family": "container", "metadata": {}, "specs": [], "key": "junk"},
    )
    assert r.status_code == 403 and "read-only" in r.json()["detail"]
    assert write_volume(vol * 2, "recon") == "users/dave/recon"  # dave's own area
    assert connect()["users"]["dave"]["recon"].read().compute().sum() == 2 * vol.sum()
    # carol's data are untouched; a key with carol's name and dave's MAC is refused
    _as(monkeypatch, service, "carol")
    np.testing.assert_array_equal(connect()["users"]["carol"]["recon"].read().compute(), vol)
    forged = carol_key.split("_")[0] + "_" + user_api_key(service.key, "dave").split("_")[1]
    assert (
        httpx.get(
            base + "/api/v1/metadata/users/carol", headers={"Authorization": "Apikey " + forged}
        ).status_code
        == 401
    )
    assert httpx.get(base + "/api/v1/metadata/users/carol", params={"api_key": carol_key}).status_code == 200


def test_a_user_creates_only_their_own_area():
    assert refusal("POST", "/api/v1/metadata/users", "alice", b'{"id": "alice", "metadata": {}}') is None
    assert "not users/bob" in refusal("POST", "/api/v1/metadata/users", "alice", b'{"id": "bob"}')
    assert refusal("POST", "/api/v1/metadata/users", "alice", b"not json") is not None
    assert refusal("PUT", "/api/v1/metadata/users", "alice") is not None
