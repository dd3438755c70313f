"""Data Exchange and NXtomo reading (lazy), result writing, TIFF export, the real tooth scan."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from daisy_widgets.tomography import io
from daisy_widgets.tomography.phantom import simulate_scan


def test_data_exchange_is_lazy_and_complete(sample_scan):
    scan = io.read_scan(sample_scan)
    assert hasattr(scan.projections, "dask"), "projections must be a dask array over the HDF5 chunks"
    assert scan.projections.chunksize[0] == 32  # the file's chunks (angles)
    assert scan.shape == (180, 8, 128)
    assert scan.flats.shape == (10, 8, 128) and scan.darks.shape == (5, 8, 128)
    assert scan.theta[0] == 0.0 and scan.theta[-1] == pytest.approx(179.0)
    assert scan.metadata["energy"] == 25.0 and scan.metadata["pixel_size"] == 1e-6
    assert scan.metadata["sample_name"] == "Shepp-Logan 3D phantom"
    with h5py.File(sample_scan) as f:
        np.testing.assert_array_equal(scan.projections[:, 3].compute(), f["/exchange/data"][:, 3])


def test_nxtomo_with_flats_before_and_after(tmp_path):
    sc = simulate_scan(size=32, height=4, n_angles=20, seed=0)
    after = sc.flats * 0.9
    p = io.write_nxtomo(
        tmp_path / "nx.h5",
        sc.projections,
        sc.flats,
        sc.darks,
        sc.theta_deg,
        flats_after=after,
        sample_name="phantom",
    )
    scan = io.read_scan(p)
    assert scan.shape == sc.projections.shape
    np.testing.assert_allclose(scan.theta, sc.theta_deg)
    np.testing.assert_array_equal(np.asarray(scan.flats), sc.flats)
    np.testing.assert_array_equal(np.asarray(scan.flats_after), after)
    np.testing.assert_array_equal(np.asarray(scan.darks), sc.darks)
    np.testing.assert_array_equal(np.asarray(scan.projections), sc.projections)
    assert scan.metadata["sample_name"] == "phantom"


def test_write_recon_attributes_and_tiff(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    vol = np.random.default_rng(0).random((3, 16, 16)).astype(np.float64)
    out = io.write_recon(
        tmp_path / "r.h5",
        vol,
        params={"algorithm": "fbp", "center": 7.5, "filter": "ramp"},
        input_path="/data/in.h5",
        first_slice=10,
    )
    data, attrs = io.read_recon(out)
    assert data.dtype == np.float32 and data.shape == (3, 16, 16)
    np.testing.assert_allclose(data, vol.astype(np.float32))
    assert attrs["algorithm"] == "fbp" and attrs["center"] == 7.5 and attrs["input_path"] == "/data/in.h5"
    with h5py.File(out) as f:
        assert f["/exchange/data"].attrs["units"] == "1/pixel"
        assert f["/exchange/data"].attrs["first_slice"] == 10
    files = io.write_tiff_stack(tmp_path / "tif", data, first=10)
    assert [f.name for f in files] == ["slice_00010.tif", "slice_00011.tif", "slice_00012.tif"]
    np.testing.assert_array_equal(tifffile.imread(files[1]), data[1])
    assert not list(tmp_path.glob("**/*.part"))


def test_tooth(tooth_path):
    scan = io.read_scan(tooth_path)
    assert scan.shape == (181, 2, 640)
    assert scan.flats.shape[1:] == (2, 640) and scan.darks.shape[1:] == (2, 640)
    assert scan.metadata.get("sample_name") == "Tooth"
    assert np.all(np.diff(scan.theta) > 0) and scan.theta[-1] < 180.0
    block = scan.block(slice(0, 1))
    assert block["projections"].shape == (181, 1, 640) and block["projections"].dtype == np.float32
