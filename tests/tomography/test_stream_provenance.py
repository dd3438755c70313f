"""The input's checksums of a streamed run, computed beside the reconstruction instead of before it.

The digests stored in the output must equal those of the pass that ran first before (the same
``scan_provenance``, run on its own) and SHA-256 of the rows as stored, for HDF5 and TIFF input
read in several blocks; NaN/inf in the input, a failing checksum pass or a cancel stop the run
and leave no output.
"""

from __future__ import annotations

import hashlib
import json

import h5py
import numpy as np
import pytest

from daisy_widgets.core.errors import Cancelled, InputFileError
from daisy_widgets.core.progress import CancelToken
from daisy_widgets.tomography.io import read_scan, scan_provenance, write_data_exchange
from daisy_widgets.tomography.io.provenance import array_checksum
from daisy_widgets.tomography.pipeline import ReconOptions, run_reconstruction

TIFF_LAYOUT = {"angles": "angles.txt", "flats": ["flat_*.tif"], "darks": ["dark_*.tif"]}


def _sha(a: np.ndarray) -> str:
    """SHA-256 of an array's values in C order, little-endian (the old pass: ``tobytes``)."""
    return hashlib.sha256(np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"))).tobytes()).hexdigest()


def _counts(n_angles: int = 30, rows: int = 7, width: int = 40, dtype=np.uint16, seed: int = 0):
    rng = np.random.default_rng(seed)
    proj = rng.integers(2000, 9000, (n_angles, rows, width)).astype(dtype)
    flats = np.full((3, rows, width), 10000, dtype)
    darks = np.full((2, rows, width), 100, dtype)
    theta = np.linspace(0.0, 180.0, n_angles, endpoint=False)
    return proj, flats, darks, theta


def _tiff_folder(folder, proj, flats, darks, theta):
    import tifffile

    folder.mkdir()
    for i, frame in enumerate(proj):
        tifffile.imwrite(folder / f"proj_{i:03d}.tif", frame)
    for i, frame in enumerate(flats):
        tifffile.imwrite(folder / f"flat_{i}.tif", frame)
    for i, frame in enumerate(darks):
        tifffile.imwrite(folder / f"dark_{i}.tif", frame)
    (folder / "angles.txt").write_text("\n".join(repr(float(t)) for t in theta) + "\n")
    return folder


@pytest.mark.parametrize("source", ["hdf5", "tiff"])
def test_streamed_run_stores_the_digests_of_the_separate_pass(tmp_path, source):
    proj, flats, darks, theta = _counts()
    if source == "hdf5":
        path, layout = write_data_exchange(tmp_path / "scan.h5", proj, flats, darks, theta), None
    else:
        path, layout = _tiff_folder(tmp_path / "tiff", proj, flats, darks, theta), TIFF_LAYOUT
    rows = slice(1, 6)
    opts = ReconOptions(center=19.5, algorithm="fbp", block=2)  # three blocks: 2 + 2 + 1 rows
    info = run_reconstruction(path, tmp_path / "out.h5", opts, slices="1:6", layout=layout)
    assert info["stream"].blocks == 3
    with h5py.File(tmp_path / "out.h5") as f:
        stored = json.loads(f["/provenance"][()])["checksums"]
    separate = scan_provenance(read_scan(path, layout=layout), rows)["checksums"]
    assert stored == separate  # the pass that ran before the reconstruction, run on its own
    assert stored["projections"]["sha256"] == _sha(proj[:, rows])  # the rows as stored, in frame order
    assert stored["flats"]["sha256"] == _sha(flats[:, rows])
    assert stored["darks"]["sha256"] == _sha(darks[:, rows])
    assert stored["theta_degrees"]["sha256"] == _sha(np.asarray(theta, np.float64))


@pytest.mark.parametrize("dtype", ["<u2", ">u2", "<f4", ">f8", "<i4"])
def test_array_checksum_equals_sha256_of_the_stored_bytes(dtype, monkeypatch):
    from daisy_widgets.tomography.io import provenance

    monkeypatch.setattr(provenance, "STEP_BYTES", 1000)  # many steps, one of them partial
    a = (np.random.default_rng(1).standard_normal((37, 5, 11)) * 1000).astype(dtype)
    digest, bad = array_checksum(a)
    assert digest == _sha(a) and bad == 0
    f = a.astype("<f4")
    f[30, 2, 3] = np.nan
    f[0, 0, 0] = np.inf
    assert array_checksum(f) == (_sha(f), 2)


def test_nan_in_the_last_block_stops_the_run_and_writes_nothing(tmp_path):
    proj, flats, darks, theta = _counts(dtype=np.float32)
    proj[17, 6, 5] = np.nan  # the last row: the last of four blocks
    path = write_data_exchange(tmp_path / "scan.h5", proj, flats, darks, theta)
    out = tmp_path / "out.h5"
    with pytest.raises(InputFileError) as e:
        run_reconstruction(path, out, ReconOptions(center=19.5, block=2))
    assert e.value.field == "/exchange/data" and "finite" in e.value.expected
    assert not out.exists() and not list(tmp_path.glob(".out.h5.*"))


def test_a_failing_or_cancelled_checksum_pass_leaves_no_output(tmp_path, monkeypatch):
    from daisy_widgets.tomography.io import provenance

    proj, flats, darks, theta = _counts()
    path = write_data_exchange(tmp_path / "scan.h5", proj, flats, darks, theta)
    out = tmp_path / "out.h5"

    def unreadable(*args, **kwargs):
        raise OSError("checksum read failed")

    monkeypatch.setattr(provenance, "array_checksum", unreadable)
    with pytest.raises(OSError, match="checksum read failed"):
        run_reconstruction(path, out, ReconOptions(center=19.5, block=2))
    assert not out.exists() and not list(tmp_path.glob(".out.h5.*"))
    monkeypatch.undo()

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_reconstruction(path, out, ReconOptions(center=19.5, block=2), cancel=token)
    assert not out.exists() and not list(tmp_path.glob(".out.h5.*"))
