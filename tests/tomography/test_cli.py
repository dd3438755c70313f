"""``daisy tomo recon`` and ``daisy tomo center`` end to end on a sample scan file."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest

from daisy_widgets.cli import main


def test_recon_writes_slices_with_parameters(sample_scan, tmp_path, capsys):
    out = tmp_path / "recon.h5"
    rc = main(
        [
            "tomo",
            "recon",
            str(sample_scan),
            "-o",
            str(out),
            "--slices",
            "2:6",
            "--algorithm",
            "gridrec",
            "--filter",
            "hann",
            "--stripe",
            "sorting",
            "--zingers",
            "--tiff",
            str(tmp_path / "tif"),
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    assert "wrote" in captured.out and "100%" in captured.err  # the progress bar
    with h5py.File(out) as f:
        d = f["/exchange/data"]
        assert d.shape == (4, 128, 128) and d.dtype == np.float32
        a = f["/exchange"].attrs
        assert a["algorithm"] == "gridrec" and a["filter"] == "hann" and a["slices"] == "2:6"
        assert a["input_path"] == str(sample_scan)
        assert abs(a["center"] - f["/exchange"].attrs["center"]) == 0
        assert abs(float(a["center"]) - 67.0) < 0.5
    assert len(list((tmp_path / "tif").glob("*.tif"))) == 4


def test_recon_fixed_center_and_iterative(sample_scan, tmp_path):
    out = tmp_path / "sirt.h5"
    assert (
        main(
            [
                "tomo",
                "recon",
                str(sample_scan),
                "-o",
                str(out),
                "--slices",
                "4:5",
                "--center",
                "67",
                "--algorithm",
                "sirt",
                "--iterations",
                "20",
                "--quiet",
            ]
        )
        == 0
    )
    with h5py.File(out) as f:
        assert f["/exchange"].attrs["center"] == 67.0
        assert f["/exchange/data"][()].min() >= 0


def test_center_command(sample_scan, capsys):
    assert main(["tomo", "center", str(sample_scan)]) == 0
    lines = capsys.readouterr().out.splitlines()
    found = {ln.split()[0]: float(ln.split()[1]) for ln in lines}
    for m in ("vo", "com", "entropy"):
        assert abs(found[m] - 67.0) < 0.5, found


def test_cupy_backend_without_gpu_is_a_clear_error(sample_scan, tmp_path, capsys):
    from daisy_widgets.core.backend import gpu_available

    if gpu_available():
        pytest.skip("a GPU is present: the cupy backend runs")
    rc = main(
        [
            "tomo",
            "recon",
            str(sample_scan),
            "-o",
            str(tmp_path / "x.h5"),
            "--backend",
            "cupy",
            "--quiet",
            "--center",
            "middle",
        ]
    )
    assert rc == 1 and "cupy" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()


def test_daisy_executable_help():
    r = subprocess.run(
        [sys.executable, "-m", "daisy_widgets.cli", "tomo", "recon", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "--scheduler" in r.stdout and "--slices" in r.stdout


def test_nxtomo_with_flats_after_and_phase(tmp_path):
    """NXtomo input, flats before/after interpolated, Paganin phase retrieval, from the CLI."""
    from daisy_widgets.tomography import io
    from daisy_widgets.tomography.phantom import ScanOptions, simulate_scan

    sc = simulate_scan(ScanOptions(size=64, height=4, n_angles=90, seed=5))
    src = io.write_nxtomo(
        tmp_path / "nx.h5",
        sc.projections,
        sc.flats,
        sc.darks,
        sc.theta_deg,
        flats_after=sc.flats,
        sample_name="phantom",
    )
    out = tmp_path / "r.h5"
    assert (
        main(
            [
                "tomo",
                "recon",
                str(src),
                "-o",
                str(out),
                "--phase",
                "--energy",
                "20",
                "--distance",
                "0.05",
                "--pixel-size",
                "1",
                "--center",
                "middle",
                "--quiet",
            ]
        )
        == 0
    )
    with h5py.File(out) as f:
        assert f["/exchange/data"].shape == (4, 64, 64)
        assert f["/exchange"].attrs["phase"] and f["/exchange"].attrs["energy"] == 20.0
        assert np.isfinite(f["/exchange/data"][()]).all()
