"""open_scan: a service entry gives the same object as the local file; slices read only what they touch."""

from __future__ import annotations

import dask.array
import h5py
import numpy as np
import pytest

from daisy_widgets.store import open_scan


def test_remote_slice_equals_h5py(env):
    path = env.data / "tomography" / "dx_scan.h5"
    scan = open_scan("tomography/dx_scan")
    assert isinstance(scan.projections, dask.array.Array)  # a dask array (a subclass: one request per region)
    with h5py.File(path, "r") as f:
        ref = f["/exchange/data"]
        np.testing.assert_array_equal(scan.projections[5:13, 2:4, 7:30].compute(), ref[5:13, 2:4, 7:30])
        np.testing.assert_array_equal(scan.projections[17].compute(), ref[17])
        np.testing.assert_array_equal(scan.projections.compute(), ref[()])
        np.testing.assert_array_equal(scan.flats.compute(), f["/exchange/data_white"][()])
        np.testing.assert_array_equal(scan.theta, f["/exchange/theta"][()])


def test_same_object_as_the_local_file(env):
    local = open_scan(env.data / "tomography" / "dx_scan.h5")
    remote = open_scan("tomography/dx_scan")
    assert type(local) is type(remote)
    assert local.shape == remote.shape == (48, 6, 40)
    assert local.metadata == remote.metadata
    assert remote.metadata["energy"] == 30.0 and remote.metadata["pixel_size"] == 6.5e-7
    assert remote.metadata["sample_name"] == "limestone core"
    np.testing.assert_array_equal(local.darks.compute(), remote.darks.compute())


def test_nxtomo_entry(env):
    local = open_scan(env.data / "tomography" / "nx_scan.nxs")
    remote = open_scan("tomography/nx_scan")
    assert type(local) is type(remote) and remote.shape == (30, 5, 24)
    np.testing.assert_array_equal(remote.projections[3:9].compute(), env.arrays["nx"][3:9])
    np.testing.assert_array_equal(remote.flats.compute(), local.flats.compute())
    np.testing.assert_allclose(remote.theta, local.theta)
    assert remote.metadata["sample_name"] == "gecko tooth" and remote.metadata["energy"] == 17.5


def test_slice_requests_only_its_region(env, monkeypatch):
    from daisy_widgets.store import objects
    from daisy_widgets.store.objects import RemoteArray

    monkeypatch.setattr(objects, "MIN_BLOCK_BYTES", 0)  # blocks = the file's chunks (8, 6, 40)
    asked = []
    orig = RemoteArray.__getitem__

    def spy(self, key):
        asked.append(key)
        return orig(self, key)

    scan = open_scan("tomography/dx_scan", validate=False)
    assert scan.projections.chunks[0] == (8,) * 6
    monkeypatch.setattr(RemoteArray, "__getitem__", spy)
    a = scan.projections[9:11, 1].compute()
    assert asked == [(slice(9, 11, None), 1, slice(0, 40, None))]  # the region, not the block
    asked.clear()
    b = scan.projections[:, 2, 5:9].compute()  # a sinogram row: one small request per block
    assert len(asked) == 6 and all(k[1] == 2 and k[2] == slice(5, 9, None) for k in asked)
    with h5py.File(env.data / "tomography" / "dx_scan.h5", "r") as f:
        np.testing.assert_array_equal(a, f["/exchange/data"][9:11, 1])
        np.testing.assert_array_equal(b, f["/exchange/data"][:, 2, 5:9])


def test_search_scans_metadata(client):
    from tiled.queries import Key

    hits = client["tomography"].search(Key("energy") >= 20)
    assert list(hits) == ["dx_scan"]
    meta = dict(client["tomography"]["nx_scan"].metadata)
    assert meta["shape"] == [34, 5, 24] and meta["n_angles"] == 30
    assert meta["angle_min"] == 0 and meta["angle_max"] == pytest.approx(174)
    assert meta["pixel_size"] == 1.3e-6 and meta["format"] == "nxtomo"
    assert "broken" not in client["tomography"] and "notes" not in client["tomography"]


def test_unknown_entry_is_a_plain_error(env):
    from daisy_widgets.store import ServiceError

    with pytest.raises(ServiceError, match="no entry"):
        open_scan("tomography/nope")
