"""Results written back into the user's own area of the service, with metadata, and read again."""

from __future__ import annotations

import hashlib
import sys

import numpy as np

from daisy_widgets.store import connect, fetch_products, write_products, write_volume

fx = sys.modules["daisy_store_fixtures"]


def test_volume_round_trip(env):
    vol = np.random.default_rng(3).normal(size=(4, 16, 16)).astype(np.float32)
    path = write_volume(vol, "recon_dx", {"algorithm": "fbp", "center": 19.5, "input": "tomography/dx_scan"})
    assert path == "users/alice/recon_dx"
    node = connect()["users"]["alice"]["recon_dx"]
    np.testing.assert_array_equal(node.read().compute(), vol)
    assert dict(node.metadata)["algorithm"] == "fbp" and dict(node.metadata)["center"] == 19.5
    write_volume(vol * 2, "recon_dx", {"algorithm": "sirt"})  # overwrite keeps one entry
    node = connect()["users"]["alice"]["recon_dx"]
    np.testing.assert_array_equal(node.read().compute(), vol * 2)


def test_products_round_trip_byte_for_byte(env, tmp_path):
    src = next((env.data / "hxmt").rglob(f"HXMT_{fx.PROGRAM}0101_HE-Evt*"))
    other = tmp_path / "notes.txt"
    other.write_text("fit: Gamma = 2.1\n")
    path = write_products([src, other], "crab_he", {"obs_id": fx.PROGRAM + "01", "pipeline": "daisy hxmt"})
    assert path == "users/alice/crab_he"
    grp = connect()["users"]["alice"]["crab_he"]
    assert dict(grp.metadata)["pipeline"] == "daisy hxmt"
    meta = dict(grp[src.name].metadata)
    assert meta["header"]["OBJECT"] == "Crab" and meta["size"] == src.stat().st_size
    got = fetch_products(path, tmp_path / "back")
    assert sorted(p.name for p in got) == sorted([src.name, "notes.txt"])
    for p in got:
        orig = src if p.name == src.name else other
        assert hashlib.sha256(p.read_bytes()).hexdigest() == hashlib.sha256(orig.read_bytes()).hexdigest()


def test_users_have_separate_areas(env, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    write_volume(np.zeros((2, 2)), "mine")
    users = connect()["users"]
    assert "mine" in users["bob"] and "mine" not in users["alice"]
