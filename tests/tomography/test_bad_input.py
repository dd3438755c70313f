"""Bad input files and arguments: each error names the file, the field and what was expected;
an output file is never left half-written."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from daisy_widgets.cli import main
from daisy_widgets.core.datastore import close_cached_files
from daisy_widgets.core.errors import InputFileError, ValidationError
from daisy_widgets.tomography import io
from daisy_widgets.tomography.phantom import simulate_scan


@pytest.fixture()
def good(tmp_path):
    sc = simulate_scan(size=32, height=4, n_angles=24, seed=0)
    return sc, io.write_data_exchange(tmp_path / "good.h5", sc.projections, sc.flats, sc.darks, sc.theta_deg)


def _rewrite(path, name, data):
    close_cached_files()  # lazy readers keep read-only handles open in this process
    with h5py.File(path, "a") as f:
        del f[name]
        f[name] = data


def test_flats_of_wrong_shape(good):
    sc, p = good
    _rewrite(p, "/exchange/data_white", sc.flats[:, :, :20])
    with pytest.raises(InputFileError) as e:
        io.read_scan(p)
    assert e.value.path == str(p) and e.value.field == "/exchange/data_white"
    assert "(n, 4, 32)" in e.value.expected


def test_theta_length_mismatch(good):
    sc, p = good
    _rewrite(p, "/exchange/theta", sc.theta_deg[:-3])
    with pytest.raises(InputFileError) as e:
        io.read_scan(p)
    assert e.value.field == "/exchange/theta" and "24 angles" in e.value.expected and "21" in e.value.found


def test_nan_in_projections_and_flats(good, tmp_path):
    sc, p = good
    proj = sc.projections.copy()
    proj[5, 1, 7] = np.nan
    _rewrite(p, "/exchange/data", proj)
    scan = io.read_scan(p)  # lazy: projections are checked when read
    with pytest.raises(InputFileError) as e:
        scan.block()
    assert e.value.field == "/exchange/data" and "finite" in e.value.expected
    out = tmp_path / "out.h5"
    assert main(["tomo", "recon", str(p), "-o", str(out), "--center", "middle", "--quiet"]) == 1
    assert not out.exists()
    flats = sc.flats.copy()
    flats[0, 0, 0] = np.inf
    _rewrite(p, "/exchange/data_white", flats)
    with pytest.raises(InputFileError, match="data_white"):
        io.read_scan(p)


@pytest.mark.parametrize("value", [0.0, -5.0])
def test_zero_or_negative_flats(good, value):
    sc, p = good
    flats = sc.flats.copy()
    flats[:, 2, 3] = value
    _rewrite(p, "/exchange/data_white", flats)
    with pytest.raises(InputFileError) as e:
        io.read_scan(p)
    assert e.value.field == "/exchange/data_white" and "above the dark" in e.value.expected


def test_center_outside_detector(good, tmp_path, capsys):
    _, p = good
    out = tmp_path / "out.h5"
    assert main(["tomo", "recon", str(p), "-o", str(out), "--center", "40", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert str(p) in err and "--center" in err and "0..31 px" in err
    assert not out.exists()


def test_missing_dataset(good):
    _, p = good
    with h5py.File(p, "a") as f:
        del f["/exchange/data"]
    with pytest.raises(InputFileError) as e:
        io.read_scan(p)
    assert e.value.field == "/exchange/data" and "3-D dataset" in e.value.expected
    with pytest.raises(InputFileError, match="NXtomo"):
        io.read_nxtomo(p)


def test_empty_and_truncated_files(good, tmp_path):
    _, p = good
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match="empty"):
        io.read_scan(empty)
    truncated = tmp_path / "truncated.h5"
    data = p.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError) as e:
        scan = io.read_scan(truncated)
        scan.block()
    assert str(truncated) in str(e.value)
    with pytest.raises(InputFileError, match="no such file"):
        io.read_scan(tmp_path / "missing.h5")


def test_failed_run_keeps_previous_output(good, tmp_path):
    """A run that fails half-way leaves the previous output file as it was."""
    _, p = good
    out = tmp_path / "out.h5"
    assert main(["tomo", "recon", str(p), "-o", str(out), "--center", "middle", "--quiet"]) == 0
    before = out.read_bytes()
    bad = tmp_path / "bad.h5"
    shutil.copy(p, bad)
    with h5py.File(bad, "a") as f:
        d = f["/exchange/data"][()]
        d[-1, -1, -1] = np.nan
        del f["/exchange/data"]
        f["/exchange/data"] = d
    assert main(["tomo", "recon", str(bad), "-o", str(out), "--center", "middle", "--quiet"]) == 1
    assert out.read_bytes() == before
    assert not list(tmp_path.glob("*.part"))


def test_normalize_argument_errors():
    from daisy_widgets.tomography.preprocess import normalize

    proj = np.ones((4, 3, 5), np.float32)
    with pytest.raises(ValidationError) as e:
        normalize(proj, np.ones((2, 3, 4)))
    assert "flats" in e.value.problems
    with pytest.raises(ValidationError, match="flat <= dark"):
        normalize(proj, np.ones((2, 3, 5)), np.ones((2, 3, 5)))
