"""DataStore: tree of named objects, attributes, persist/release, HDF5 round trip, lazy open."""

from __future__ import annotations

import dask.array as da
import h5py
import numpy as np
import pytest

from daisy_widgets.core.datastore import DataStore, Group, table
from daisy_widgets.core.errors import Cancelled, InputFileError
from daisy_widgets.core.progress import CancelToken


def test_tree_groups_and_attributes():
    s = DataStore()
    s["raw/data"] = np.zeros((2, 3))
    s["raw/flats"] = np.ones((1, 3))
    s["meta/energy"] = 25.0
    s.attrs("raw/data")["units"] = "counts"
    s.attrs("raw")["instrument"] = "beamline"
    assert isinstance(s["raw"], Group) and sorted(s["raw"].keys()) == ["data", "flats"]
    assert s["raw"]["data"].shape == (2, 3)
    assert "raw" in s and "raw/data" in s and "nope" not in s
    with pytest.raises(KeyError, match="is a group"):
        s["raw"] = 1
    with pytest.raises(KeyError, match="is an object"):
        s["raw/data/x"] = 1
    with pytest.raises(KeyError, match="no object 'raw/dat'"):
        s["raw/dat"]
    s["nested"] = {"a": np.arange(3), "b": {"c": 1}}
    assert s["nested/b/c"] == 1
    del s["raw"]
    assert s.keys() == ["meta/energy", "nested/a", "nested/b/c"]


def test_persist_and_release():
    s = DataStore({"a": 1, "w/b": 2, "w/c": 3})
    s.persist("w")
    assert s.is_persisted("w/b") and not s.is_persisted("a")
    assert s.release() == ["a"]
    assert s.keys() == ["w/b", "w/c"]


def test_hdf5_round_trip_of_every_kind(tmp_path):
    s = DataStore()
    s["raw/data"] = np.arange(24, dtype=np.uint16).reshape(2, 3, 4)
    s["tab"] = table({"time": np.arange(5.0), "pi": np.arange(5, dtype=np.int32)})
    s["scalar"] = 3.5
    s["text"] = "hello"
    s["info"] = {"k": [1, 2]}  # a dict is a group
    s["json_list"] = ["a", "b"]
    s.attrs("raw/data")["units"] = "counts"
    s.attrs("raw")["params"] = {"center": 12.5}
    p = s.save(tmp_path / "out.h5", keys=list(s.keys()))
    back = DataStore.load(p)
    np.testing.assert_array_equal(back["raw/data"], s["raw/data"])
    assert back["raw/data"].dtype == np.uint16
    np.testing.assert_array_equal(back["tab"], s["tab"])
    assert back["scalar"] == 3.5 and back["text"] == "hello" and back["json_list"] == ["a", "b"]
    assert back["info/k"] == [1, 2] or list(back["info/k"]) == [1, 2]
    assert back.attrs("raw/data")["units"] == "counts"
    assert back.attrs("raw")["params"] == '{"center": 12.5}'


def test_save_writes_persisted_objects_only(tmp_path):
    s = DataStore({"keep/a": np.ones(3), "drop": np.zeros(3)})
    s.persist("keep")
    s.save(tmp_path / "p.h5")
    with h5py.File(tmp_path / "p.h5") as f:
        assert "keep/a" in f and "drop" not in f


def test_lazy_open_is_dask_over_the_hdf5_chunks(tmp_path):
    p = tmp_path / "big.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset(
            "exchange/data",
            data=np.arange(64 * 32 * 8, dtype=np.float32).reshape(64, 32, 8),
            chunks=(4, 32, 8),
        )
    s = DataStore.open(p)
    x = s["exchange/data"]
    assert isinstance(x, da.Array)
    assert all(c % 4 == 0 for c in x.chunks[0][:-1])  # block boundaries on HDF5 chunk boundaries
    assert float(x[10:20].sum().compute()) == float(
        np.arange(64 * 32 * 8, dtype=np.float32).reshape(64, 32, 8)[10:20].sum()
    )
    small = DataStore.open(p, chunks=(8, 32, 8))["exchange/data"]
    assert small.numblocks == (8, 1, 1)
    # a lazy array saved again streams block by block into a new file
    s.persist("exchange")
    s.save(tmp_path / "copy.h5")
    with h5py.File(tmp_path / "copy.h5") as f:
        np.testing.assert_array_equal(f["exchange/data"][()], x.compute())


def test_add_dataset_errors_name_file_and_field(tmp_path):
    p = tmp_path / "f.h5"
    with h5py.File(p, "w") as f:
        f["g/d"] = np.ones(3)
    s = DataStore()
    with pytest.raises(InputFileError, match=r"f.h5 \[g/x\]: expected an HDF5 dataset"):
        s.add_dataset("raw", p, "g/x")
    with pytest.raises(InputFileError, match=r"f.h5 \[g\].*found a group"):
        s.add_dataset("raw", p, "g")
    (tmp_path / "bad.h5").write_text("not hdf5")
    with pytest.raises(InputFileError, match="bad.h5: expected a readable HDF5 file"):
        s.add_dataset("raw", tmp_path / "bad.h5", "d")
    s.add_dataset("raw", p, "g/d")
    assert s["raw"].shape == (3,)


def test_cancelled_save_leaves_the_old_file(tmp_path):
    target = tmp_path / "out.h5"
    DataStore({"x": np.zeros(4)}).save(target)
    before = target.read_bytes()
    token = CancelToken()
    big = da.ones((64, 1000), chunks=(1, 1000))
    seen = []

    def progress(done, total):
        seen.append(done)
        if done == 5:
            token.cancel()

    with pytest.raises(Cancelled):
        DataStore({"x": big}).save(target, progress=progress, cancel=token)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.h5"]  # no temporary file left
