"""Fixtures of the tomography app tests: small phantom scans and bad files, written once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from daisy_widgets.tomography.phantom import write_sample_scan

SIZE, ANGLES, ROWS, OFFSET = 96, 90, 6, 3.5


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """A data folder with a phantom scan (rings, zingers, noise, axis offset 3.5 px) and a few bad files."""
    d = tmp_path_factory.mktemp("data")
    write_sample_scan(
        d / "tomo_sample.h5", size=SIZE, n_angles=ANGLES, height=ROWS, center_offset=OFFSET, seed=1
    )
    bad = d / "bad"
    bad.mkdir()
    (bad / "empty.h5").write_bytes(b"")
    (bad / "not_hdf5.h5").write_text("this is not an HDF5 file\n")
    good = (d / "tomo_sample.h5").read_bytes()
    (bad / "truncated.h5").write_bytes(good[: len(good) // 3])
    shutil.copy(d / "tomo_sample.h5", bad / "wrong_theta.h5")
    with h5py.File(bad / "wrong_theta.h5", "r+") as f:
        del f["/exchange/theta"]
        f["/exchange/theta"] = np.linspace(0, 180, ANGLES - 7)
    (d / "notes.txt").write_text("not listed")
    return d


@pytest.fixture(scope="session")
def sample(data_dir) -> Path:
    return data_dir / "tomo_sample.h5"


@pytest.fixture(scope="session")
def true_center(sample) -> float:
    with h5py.File(sample) as f:
        return float(f["/exchange"].attrs["true_center"])


@pytest.fixture()
def app(data_dir, tmp_path):
    """A fresh app on the phantom (Dask engine on threads, for speed; the browser test uses processes)."""
    from daisy_widgets.tomography.app import TomographyApp

    a = TomographyApp(
        data_dir=data_dir,
        results_dir=tmp_path / "results",
        engine_kw={"processes": False},
        preview_delay=0.05,
    )
    yield a
    a.preview_runner.cancel()
    a.wait_idle(60)


@pytest.fixture(scope="session")
def geometry() -> tuple[int, int, int]:
    """(detector width, angles, rows) of the sample scan."""
    return SIZE, ANGLES, ROWS
