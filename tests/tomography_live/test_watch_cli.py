"""``daisy tomo watch`` follows ``daisy tomo acquire`` (two processes) and writes what ``daisy tomo recon`` writes."""

from __future__ import annotations

import h5py
import numpy as np

from daisy_widgets.cli import main

from .conftest import daisy_process


def _volume(path):
    with h5py.File(path, "r") as f:
        return f["/exchange/data"][()], dict(f["/exchange"].attrs)


def test_watch_writes_the_volume_of_recon(tmp_path, acquire):
    scan, live_out, recon_out = tmp_path / "scan.h5", tmp_path / "live.h5", tmp_path / "recon.h5"
    png = tmp_path / "preview.png"
    watch = daisy_process(
        "tomo",
        "watch",
        str(scan),
        "-o",
        str(live_out),
        "--rows",
        "1:3",
        "--stall-timeout",
        "30",
        "--preview",
        str(png),
    )
    writer = acquire(
        scan,
        "--width",
        "128",
        "--rows",
        "4",
        "--angles",
        "90",
        "--rate",
        "30",
        "--flats",
        "4",
        "--darks",
        "2",
    )
    out, err = watch.communicate(timeout=120)
    assert writer.wait(30) == 0
    assert watch.returncode == 0, err
    assert "scan complete: 90 projections" in out
    progress = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("frames ")]
    assert progress and "rate" in progress[-1] and "lag" in progress[-1]
    assert progress[-1].startswith("frames 90/90") and "[complete]" in progress[-1]
    assert png.stat().st_size > 0
    assert main(["tomo", "recon", str(scan), "-o", str(recon_out), "--slices", "1:3", "--quiet"]) == 0
    live, live_attrs = _volume(live_out)
    ref, ref_attrs = _volume(recon_out)
    assert live.shape == (2, 128, 128)
    np.testing.assert_array_equal(live, ref)
    assert live_attrs["center"] == ref_attrs["center"]


def test_watch_help_and_bad_rows(capsys):
    assert main(["tomo", "watch", "x.h5", "-o", "y.h5", "--rows", "a-b"]) == 1
    assert "--rows: expected A:B" in capsys.readouterr().err
