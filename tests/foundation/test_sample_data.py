"""``daisy data sample``: the tomography scan and the HXMT observations, idempotent, modules missing skipped."""

from __future__ import annotations

import h5py
import numpy as np

from daisy_widgets.cli import main
from daisy_widgets.commands.sample import MAKERS, SampleMaker, make_sample


def test_sample_writes_a_scan_and_observations_then_keeps_them(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["data", "sample", "--small", "--out", str(out)]) == 0
    first = capsys.readouterr().out
    assert "tomography: written" in first and "hxmt: written" in first
    scan = out / "tomography" / "tomo_sample_scan.h5"
    with h5py.File(scan, "r") as f:
        data, flats, theta = f["/exchange/data"], f["/exchange/data_white"], f["/exchange/theta"][()]
        assert data.shape == (90, 4, 64) and flats.shape[1:] == (4, 64)
        assert np.isclose(theta[-1] - theta[0], 180.0, atol=180.0 / 90 + 1e-6)
    exposures = sorted(out.glob("hxmt/P*/P*-*-01-01"))
    assert len(exposures) == 1
    assert list((exposures[0] / "HE").glob("HXMT_*_HE-Evt_FFFFFF_V*_L1P.FITS"))
    assert not list(out.glob(".*.part"))  # no temporary folder left
    mtime = scan.stat().st_mtime_ns
    assert main(["data", "sample", "--small", "--out", str(out)]) == 0
    second = capsys.readouterr().out
    assert "tomography: present" in second and "hxmt: present" in second
    assert scan.stat().st_mtime_ns == mtime
    # --force rewrites, --only restricts
    assert main(["data", "sample", "--small", "--out", str(out), "--only", "tomography", "--force"]) == 0
    third = capsys.readouterr().out
    assert "tomography: written" in third and "hxmt" not in third.split("\n", 1)[1]


def test_a_maker_whose_module_is_missing_is_skipped(tmp_path):
    maker = SampleMaker(
        "future",
        "daisy_widgets.not_written_yet",
        "write_sample",
        "future",
        "not yet",
        lambda func, folder, small: func(folder),
    )
    status = make_sample(maker, tmp_path)
    assert status.startswith("skipped") and "daisy_widgets.not_written_yet" in status
    assert not (tmp_path / "future").exists()


def test_the_makers_call_the_technique_writers():
    assert MAKERS["tomography"].module == "daisy_widgets.tomography.phantom"
    assert MAKERS["hxmt"].module == "daisy_widgets.hxmt.simulate"


def test_out_must_be_a_folder(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["data", "sample", "--out", str(f)]) == 1
    assert "expected a folder" in capsys.readouterr().err
