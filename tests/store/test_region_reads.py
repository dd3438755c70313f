"""The client's short read of array regions (``store/region_reads.py``): kept-alive connections, the body
read into the result, the same answers as h5py and as Tiled's client, Tiled's client for anything else."""

from __future__ import annotations

import socket

import dask
import dask.array as da
import h5py
import numpy as np
import pytest

from daisy_widgets.store import connect, open_scan
from daisy_widgets.store.region_reads import RegionReader


def counted(client) -> list:
    sent: list = []
    client.context.http_client.event_hooks["request"].append(lambda request: sent.append(str(request.url)))
    return sent


def reference(env) -> np.ndarray:
    with h5py.File(env.data / "tomography" / "dx_scan.h5", "r") as f:
        return f["/exchange/data"][()]


def test_regions_read_on_kept_alive_connections(env):
    client = connect(env.url, env.key, structure_clients="numpy")
    proj = open_scan("tomography/dx_scan", client=client, validate=False).projections
    remote = proj.__dict__["_daisy_remote"]
    ref = reference(env)
    sent = counted(client)
    cases = [
        (lambda x: x[17], ref[17]),
        (lambda x: x[:, 3, :], ref[:, 3, :]),
        (lambda x: x[-1, 1:5, ::3], ref[-1, 1:5, ::3]),
        (lambda x: x[5:13, 2:4, 7:30], ref[5:13, 2:4, 7:30]),
    ]
    for take, want in cases:
        got = take(proj).compute()
        assert got.dtype == want.dtype and got.shape == want.shape and got.flags.writeable
        np.testing.assert_array_equal(got, want)
    reader = remote._reader
    assert isinstance(reader, RegionReader) and reader.requests == len(cases)
    assert len(sent) == len(cases) and all(
        "/array/full/" in u and "slice=" in u for u in sent
    )  # hooks called
    # one connection kept for the thread and used again
    conn = reader._local.conn
    np.testing.assert_array_equal(proj[2].compute(), ref[2])
    assert reader._local.conn is conn
    # the same bytes as Tiled's own client gives
    from tiled.ndslice import NDSlice

    np.testing.assert_array_equal(remote.client._get_slice(NDSlice(4, slice(1, 5))), proj[4, 1:5].compute())


def test_connection_closed_meanwhile_is_opened_anew(env):
    client = connect(env.url, env.key, structure_clients="numpy")
    proj = open_scan("tomography/dx_scan", client=client, validate=False).projections
    ref = reference(env)
    np.testing.assert_array_equal(proj[1].compute(), ref[1])
    reader = proj.__dict__["_daisy_remote"]._reader
    old = reader._local.conn
    old.sock.shutdown(socket.SHUT_RDWR)  # as when the service drops an idle kept-alive connection
    np.testing.assert_array_equal(proj[2].compute(), ref[2])
    assert reader._local.conn is not old and reader.requests == 2


def test_refused_key_goes_through_tiled_and_is_reported(env):
    client = connect(env.url, env.key, structure_clients="numpy")
    proj = open_scan("tomography/dx_scan", client=client, validate=False).projections
    remote = proj.__dict__["_daisy_remote"]
    np.testing.assert_array_equal(proj[0].compute(), reference(env)[0])
    client.context.http_client.headers["Authorization"] = "Apikey wrong"
    assert remote._reader.read("3", (6, 40), np.dtype("float32")) is None  # 401: not taken
    requests = remote._reader.requests
    del client.context.http_client.headers["Authorization"]
    assert remote._reader.read("3", (6, 40), np.dtype("float32")) is None  # no key: not sent
    assert remote._reader.requests == requests
    client.context.http_client.headers["Authorization"] = "Apikey wrong"
    from tiled.client.utils import ClientError

    with pytest.raises(ClientError, match="401: Invalid API key"):
        proj[3].compute()  # Tiled's client raises, as it did before


def test_compressed_client_keeps_tiled_path(env):
    client = connect(env.url, env.key, structure_clients="numpy", compress=True)
    proj = open_scan("tomography/dx_scan", client=client, validate=False).projections
    sent = counted(client)
    np.testing.assert_array_equal(proj[5].compute(), reference(env)[5])
    assert proj.__dict__["_daisy_remote"]._reader is False and len(sent) == 1


def test_region_compute_any_scheduler(env):
    client = connect(env.url, env.key, structure_clients="numpy")
    proj = open_scan("tomography/dx_scan", client=client, validate=False).projections
    ref = reference(env)
    region = proj[7]
    plain = da.from_array(ref[8], chunks=3)
    for kwargs in ({}, {"scheduler": "threads"}, {"scheduler": "sync"}):
        np.testing.assert_array_equal(region.compute(**kwargs), ref[7])
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(np.asarray(region), ref[7])
    a, b = dask.compute(region, plain)  # mixed with a plain dask array
    np.testing.assert_array_equal(a, ref[7])
    np.testing.assert_array_equal(b, ref[8])
    np.testing.assert_array_equal((region + 1).compute(), ref[7] + 1)  # derived: dask's way
    assert float(proj[1, 2, 3].compute()) == float(ref[1, 2, 3])  # one value


def test_pickled_region_reads_on_its_own_connection(env):
    import pickle

    client = connect(env.url, env.key, structure_clients="numpy")
    proj = open_scan("tomography/dx_scan", client=client, validate=False).projections
    ref = reference(env)
    np.testing.assert_array_equal(proj[3].compute(), ref[3])  # the reader and its connection made here
    copy = pickle.loads(pickle.dumps(proj[:, 2]))
    np.testing.assert_array_equal(copy.compute(), ref[:, 2])
