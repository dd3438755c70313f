"""Remote scan reads: one HTTP request per slice, open HDF5 files kept by the service (re-opened when
the file changes on disk), the short read path equal to Tiled's answer byte for byte, keys still checked."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from daisy_widgets.store import connect, open_scan

OCTET = {"Accept": "application/octet-stream", "accept-encoding": "identity"}


def counted(client) -> list:
    sent: list = []
    client.context.http_client.event_hooks["request"].append(lambda request: sent.append(str(request.url)))
    return sent


def test_one_request_per_slice_equal_to_h5py(env):
    client = connect(env.url, env.key, structure_clients="numpy")
    scan = open_scan("tomography/dx_scan", client=client, validate=False)
    sent = counted(client)
    with h5py.File(env.data / "tomography" / "dx_scan.h5", "r") as f:
        ref = f["/exchange/data"][()]
    cases = [
        (lambda x: x[17], ref[17]),  # a projection
        (lambda x: x[:, 3, :], ref[:, 3, :]),  # a sinogram row, across every block of angles
        (lambda x: x[-1, 1:5, ::3], ref[-1, 1:5, ::3]),
        (lambda x: x[..., 7], ref[..., 7]),
        (lambda x: x[5:13, 2:4, 7:30], ref[5:13, 2:4, 7:30]),
    ]
    for take, want in cases:
        sent.clear()
        got = take(scan.projections).compute()
        assert len(sent) == 1 and "/array/full/" in sent[0], sent
        assert got.dtype == want.dtype and got.shape == want.shape and got.flags.writeable
        np.testing.assert_array_equal(got, want)
    # what is not a plain region (fancy indexing) still reads only what it needs, through dask
    got = scan.projections[[1, 40]].compute()
    np.testing.assert_array_equal(got, ref[[1, 40]])
    sent.clear()
    np.testing.assert_array_equal(scan.projections.compute(), ref)  # whole: block by block
    assert len(sent) >= 1


@pytest.fixture()
def served(tmp_path):
    """The service's ASGI application in this process over one Data Exchange scan (key "k3y")."""
    pytest.importorskip("tiled.server")
    import importlib.util

    from starlette.testclient import TestClient

    from daisy_widgets.store import catalog as cat
    from daisy_widgets.store.server import build_app

    spec = importlib.util.spec_from_file_location("store_fixtures", Path(__file__).with_name("fixtures.py"))
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    data, state = tmp_path / "data", tmp_path / "state"
    path = data / "tomography" / "scan.h5"
    fixtures.write_dx_scan(path)
    uri = cat.sqlite_uri(state / "tiled" / "catalog.db")
    cat.build_catalog(uri, data, state / "tiled" / "storage", records=[])
    app = build_app(uri, data, state / "tiled" / "storage", "k3y")
    with TestClient(app) as http:
        yield http, app.app, path  # app.app: the short read path behind the per-user guard
    from daisy_widgets.store.hdf5_cache import OPEN_FILES

    OPEN_FILES.close_all()  # as the service does when it stops


URL = "/api/v1/array/full/tomography/scan/exchange/data"


def get(http, key: str | None = "k3y", **params):
    headers = dict(OCTET, **({"Authorization": f"Apikey {key}"} if key else {}))
    return http.get(URL, params=params, headers=headers)


def as_array(resp, shape):
    assert resp.status_code == 200, resp.text
    return np.frombuffer(resp.content, np.float32).reshape(shape)


def test_short_path_answers_as_tiled(served):
    http, fast, path = served
    with h5py.File(path, "r") as f:
        ref = f["/exchange/data"][()]
    first = get(http, slice="3,0:6,0:40", expected_shape="6,40")  # Tiled answers, the entry is learnt
    assert fast.served == 0 and len(fast.routes) == 1
    second = get(http, slice="3,0:6,0:40", expected_shape="6,40")
    assert fast.served == 1
    assert first.content == second.content == ref[3].tobytes()
    assert second.headers["content-type"] == "application/octet-stream"
    np.testing.assert_array_equal(as_array(get(http, slice="::5,2,1:9"), (10, 8)), ref[::5, 2, 1:9])
    np.testing.assert_array_equal(as_array(get(http), ref.shape), ref)  # no slice: the whole array
    assert get(http, slice="3,2,1", expected_shape="scalar").content == ref[3, 2, 1].tobytes()  # one value
    assert fast.served == 4
    # a wrong expected shape, JSON, or compression go to Tiled, which answers as before
    assert get(http, slice="3", expected_shape="6,41").status_code == 500
    resp = http.get(
        URL,
        params={"slice": "3,0,0:4"},
        headers={"Authorization": "Apikey k3y", "Accept": "application/json"},
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    np.testing.assert_allclose(resp.json(), ref[3, 0, 0:4])
    assert get(http, slice="99").status_code == 400  # out of range: Tiled's error
    assert fast.served == 4


def test_keys_still_checked_on_the_short_path(served):
    from daisy_widgets.store.access import user_api_key

    http, fast, _ = served
    assert get(http, slice="1").status_code == 200
    assert get(http, slice="1").status_code == 200 and fast.served == 1
    assert get(http, key=None, slice="1").status_code == 401
    assert get(http, key="wrong", slice="1").status_code == 401
    assert http.get(URL, params={"slice": "1", "api_key": "wrong"}, headers=OCTET).status_code == 401
    assert fast.served == 1
    # a user's key reads the shared data (the guard allows it, then the short path serves it)
    assert get(http, key=user_api_key("k3y", "alice"), slice="1").status_code == 200
    assert fast.served == 2


def test_file_changed_on_disk_is_reopened(served):
    import subprocess
    import sys

    from daisy_widgets.store.hdf5_cache import OPEN_FILES

    http, fast, path = served
    shape = (48, 6, 40)
    with h5py.File(path, "r") as f:
        ref = f["/exchange/data"][0:4]
    get(http, slice="0:4")
    np.testing.assert_array_equal(as_array(get(http, slice="0:4"), (4, 6, 40)), ref)
    assert fast.served == 1
    opened = OPEN_FILES.opened
    # rewritten in place by another process (same size: the modification time tells)
    code = "import sys, h5py; f = h5py.File(sys.argv[1], 'r+'); f['/exchange/data'][0:4] = -1.0; f.close()"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # whatever the clock's resolution
    assert np.all(as_array(get(http, slice="0:4"), (4, 6, 40)) == -1.0)
    assert OPEN_FILES.opened == opened + 1
    # replaced by a new file under the same name (another inode)
    new = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    tmp = path.with_suffix(".tmp")
    with h5py.File(tmp, "w") as f:
        ex = f.create_group("exchange")
        ex.create_dataset("data", data=new, chunks=(8, 6, 40))
        ex.create_dataset("theta", data=np.linspace(0, 180, 48, endpoint=False))
    os.replace(tmp, path)
    np.testing.assert_array_equal(as_array(get(http, slice="10:12,5"), (2, 40)), new[10:12, 5])
    assert OPEN_FILES.opened == opened + 2
    assert fast.served == 3  # all on the short path, re-opened each time the file changed


def test_dataset_of_another_shape_goes_to_tiled(served):
    http, fast, path = served
    get(http, slice="0:2")
    get(http, slice="0:2")
    assert fast.served == 1
    new = np.full((20, 6, 40), 7.0, np.float32)
    tmp = path.with_suffix(".tmp")
    with h5py.File(tmp, "w") as f:
        f.create_group("exchange").create_dataset("data", data=new, chunks=(4, 6, 40))
    os.replace(tmp, path)
    np.testing.assert_array_equal(as_array(get(http, slice="18:20"), (2, 6, 40)), new[18:20])
    assert fast.served == 1  # answered by Tiled, with the new shape
    np.testing.assert_array_equal(as_array(get(http, slice="19"), (6, 40)), new[19])
    assert fast.served == 2  # learnt anew


def test_writes_forget_learnt_entries(served):
    http, fast, _ = served
    get(http, slice="1")
    assert fast.routes
    http.delete("/api/v1/metadata/tomography/nothing", headers={"Authorization": "Apikey k3y"})
    assert not fast.routes


def test_open_files_bounded_and_closed(tmp_path):
    from daisy_widgets.store.hdf5_cache import OpenFiles

    paths = []
    for i in range(3):
        p = tmp_path / f"f{i}.h5"
        with h5py.File(p, "w") as f:
            f["x"] = np.full(4, i, np.int16)
        paths.append(p)
    files = OpenFiles(max_open=2)
    for i, p in enumerate(paths):
        assert files.read(str(p), "x", ())[0] == i
    assert len(files) == 2 and files.opened == 3
    files.read(str(paths[2]), "x", (slice(0, 2),))  # still open: no re-open
    assert files.opened == 3
    files.close_all()
    assert len(files) == 0


def test_adapters_give_tiled_structures_and_metadata(tmp_path):
    import importlib.util

    from tiled.adapters.hdf5 import HDF5Adapter
    from tiled.utils import ensure_uri

    from daisy_widgets.store.hdf5_cache import OPEN_FILES, CachedHDF5Adapter

    spec = importlib.util.spec_from_file_location("store_fixtures", Path(__file__).with_name("fixtures.py"))
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    for name, write in (("dx.h5", fixtures.write_dx_scan), ("nx.nxs", fixtures.write_nx_scan)):
        path = tmp_path / name
        write(path)

        def walk(adapter, where=""):
            """{path: (metadata, keys or structure, data)} of every node."""
            out = {}
            if hasattr(adapter, "_tree"):
                out[where] = (adapter.metadata(), list(adapter), None)
                for key in adapter:
                    out.update(walk(adapter[key], f"{where}/{key}"))
            else:
                out[where] = (adapter.metadata(), adapter.structure(), np.asarray(adapter.read()))
            return out

        with pytest.warns(UserWarning):  # Tiled's warning on variable-length strings
            theirs = walk(HDF5Adapter.from_uris(ensure_uri(path)))  # Tiled's own, file opened per call
        ours = walk(CachedHDF5Adapter(OPEN_FILES.tree(str(path), "/"), ensure_uri(path), dataset="/"))
        assert list(ours) == list(theirs)
        for where, (meta, structure, data) in theirs.items():
            assert ours[where][0] == meta and ours[where][1] == structure, where
            if data is not None:
                assert ours[where][2].dtype == data.dtype, where
                np.testing.assert_array_equal(ours[where][2], data, err_msg=where)
        OPEN_FILES.close_all()
