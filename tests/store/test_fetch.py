"""fetch_observation / open_observation: files into the cache with checksums, cached copy reused or repaired."""

from __future__ import annotations

import hashlib
import sys

import pytest

from daisy_widgets.store import ServiceError, fetch_observation, open_observation

fx = sys.modules["daisy_store_fixtures"]
EXP = fx.PROGRAM + "0101"


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_fetch_copies_identical_files(env, tmp_path):
    folder = fetch_observation(f"hxmt/{EXP}")
    src = next((env.data / "hxmt").rglob(f"{EXP}-*"))
    assert folder.name == src.name and folder.is_relative_to(tmp_path / "cache")
    names = sorted(p.relative_to(src).as_posix() for p in src.rglob("*.FITS"))
    assert names == sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.FITS"))
    assert len(names) == 6  # HE, ME, LE events + Att, Orbit, EHK
    for n in names:
        assert sha(folder / n) == sha(src / n)
    assert not list(folder.parent.glob(".*.part"))


def test_cached_copy_is_reused_and_a_damaged_one_replaced(env):
    folder = fetch_observation(EXP)
    evt = next(folder.rglob("*HE-Evt*"))
    ino = evt.stat().st_ino
    assert fetch_observation(EXP) == folder and evt.stat().st_ino == ino  # verified copy reused
    good = sha(evt)
    data = bytearray(evt.read_bytes())
    data[-10] ^= 0xFF  # same size, one byte flipped
    evt.write_bytes(bytes(data))
    assert fetch_observation(EXP) == folder
    assert sha(evt) == good  # re-downloaded and verified


def test_checksum_mismatch_is_refused(env, monkeypatch):
    from daisy_widgets.store import client as cl

    monkeypatch.setattr(cl, "_download_asset", lambda node, target: (target.write_bytes(b"x"), "0" * 64)[1])
    with pytest.raises(ServiceError, match="SHA-256"):
        fetch_observation(fx.PROGRAM + "0401")
    assert not (env.data / "cache").exists()


def test_open_observation_same_object_local_and_remote(env):
    remote = open_observation(f"hxmt/{EXP}")
    local = open_observation(next((env.data / "hxmt").rglob(f"{EXP}-*")))
    assert type(remote) is type(local)
    assert remote.metadata == local.metadata
    assert (
        sorted(remote.files) == sorted(local.files) == ["Att", "EHK", "HE-Evt", "LE-Evt", "ME-Evt", "Orbit"]
    )
    assert remote.instruments == ["HE", "ME", "LE"] and remote.exp_id == EXP
    assert remote.source == f"hxmt/{EXP}" and local.source == "local"
    assert remote.metadata["target"] == "Crab" and remote.metadata["ra"] == pytest.approx(83.63308)


def test_unknown_observation(env):
    with pytest.raises(ServiceError, match="no entry"):
        fetch_observation("hxmt/P9999999999")
