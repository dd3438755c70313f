"""``daisy tomo inspect``: candidates of an unknown file and a command that really reads it; layouts remembered."""

from __future__ import annotations

import json
import shlex

import h5py
import numpy as np
import pytest

from daisy_widgets.cli import main
from daisy_widgets.tomography import io
from daisy_widgets.tomography.io import Layout, LayoutMemory


def _run_printed(command: str, out) -> np.ndarray:
    """Run a printed ``daisy tomo recon ... -o X`` with the output sent to ``out``; return the volume."""
    argv = shlex.split(command)
    assert argv[:3] == ["daisy", "tomo", "recon"]
    argv[argv.index("-o") + 1] = str(out)
    assert main([*argv[1:], "--quiet", "--center", "31.5"]) == 0
    with h5py.File(out) as f:
        return f["/exchange/data"][()]


@pytest.fixture(scope="module")
def reference(layouts, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ref.h5"
    assert main(["tomo", "recon", str(layouts.ref), "-o", str(out), "--quiet", "--center", "31.5"]) == 0
    with h5py.File(out) as f:
        return f["/exchange/data"][()]


def test_inspect_unknown_nexus_lists_candidates_and_a_working_command(layouts, reference, tmp_path, capsys):
    assert main(["tomo", "inspect", str(layouts.nexus)]) == 0
    text = capsys.readouterr().out
    assert "not a known layout" in text
    assert (
        "/entry/imaging/data  (103, 4, 64) uint16  chunks (1, 4, 64)  external link -> detector.h5:/data"
        in text
    )
    assert "/entry/instrument/imaging/image_key  (103,) int8  values 0: 90, 1: 8, 2: 3, 3: 2" in text
    assert "/entry/sample/positioner/rot  (103,) float64  0 .. 178 (no units)" in text
    command = text.strip().splitlines()[-1].strip()
    assert "--image-key /entry/instrument/imaging/image_key" in command and "--angles-unit deg" in command
    vol = _run_printed(command, tmp_path / "x.h5")
    np.testing.assert_allclose(vol, reference, rtol=1e-4, atol=1e-6)


def test_inspect_json_gives_a_layout_the_reader_takes(layouts, capsys):
    assert main(["tomo", "inspect", str(layouts.separate), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kind"] == "unknown" and d["frames"][0]["name"] == "/measurement/frames"
    assert d["angles"][0]["note"].endswith("(rad)")
    lay = Layout.from_dict(d["layout"])
    assert lay.flats == [str(layouts.separate.parent / "flats.h5")]  # found beside the file
    scan = io.read_scan(layouts.separate, layout=lay)
    np.testing.assert_allclose(scan.theta, layouts.theta_deg, atol=1e-9)


def test_inspect_tiff_folder_guesses_flats_darks_angles(layouts, reference, tmp_path):
    insp = io.inspect_scan(layouts.tiff)
    assert insp.kind == "tiff" and [c.name for c in insp.frames] == ["proj_*.tif"]
    assert insp.layout.flats == ["flat_*.tif"] and insp.layout.darks == ["dark_*.tif"]
    assert insp.layout.angles == "angles.txt" and not insp.problems
    vol = _run_printed(insp.command(), tmp_path / "x.h5")
    np.testing.assert_allclose(vol, reference, rtol=1e-4, atol=1e-6)


def test_inspect_known_layout_shows_the_summary(layouts, reference, tmp_path):
    insp = io.inspect_scan(layouts.ref)
    assert insp.kind == "dxchange" and not insp.frames
    summary = dict(insp.summary)
    assert summary["projections"] == "90 angles x 4 rows x 64 columns (uint16)"
    assert summary["flats"] == "4 frames" and summary["darks"] == "3 frames"
    assert insp.command() == f"daisy tomo recon {layouts.ref} -o ref_recon.h5"
    np.testing.assert_array_equal(_run_printed(insp.command(), tmp_path / "x.h5"), reference)


def test_tooth_inspect_prints_a_valid_command(tooth_path, tmp_path, capsys):
    assert main(["tomo", "inspect", str(tooth_path)]) == 0
    text = capsys.readouterr().out
    assert "layout: Data Exchange" in text and "181 angles x 2 rows x 640 columns" in text
    argv = shlex.split(text.strip().splitlines()[-1])
    argv[argv.index("-o") + 1] = str(tmp_path / "tooth_recon.h5")
    assert main([*argv[1:], "--quiet"]) == 0
    with h5py.File(tmp_path / "tooth_recon.h5") as f:
        vol = f["/exchange/data"][()]
    assert vol.shape == (2, 640, 640) and np.isfinite(vol).all()


def test_layout_remembered_per_file_name_pattern(layouts, tmp_path, monkeypatch, nexus_args):
    monkeypatch.setenv("DAISY_USER_DIR", str(tmp_path / "home"))
    memory = LayoutMemory()
    assert memory.path == tmp_path / "home" / "tomo_layouts.json"
    lay = io.inspect_scan(layouts.nexus).layout
    assert memory.remember("/beamline/run7/scan_0042.nxs", lay) == "scan_*.nxs"
    recalled = LayoutMemory().recall("/elsewhere/scan_0117.nxs")
    assert recalled == lay and recalled.to_args() == nexus_args
    assert LayoutMemory().recall("other_0001.nxs") is None
    assert (
        json.loads(memory.path.read_text())["scan_*.nxs"]["image_key"]
        == "/entry/instrument/imaging/image_key"
    )
    scan = io.read_scan(layouts.nexus, layout=recalled.to_dict())
    assert scan.shape == (90, 4, 64)
    assert memory.forget("scan_1.nxs") and LayoutMemory().recall("scan_0042.nxs") is None


def test_layout_round_trips_and_rejects_unknown_fields():
    lay = Layout(data="/d", angles="0:180:10", flats=["f.h5"], flats_path="/x")
    assert Layout.from_dict(json.loads(json.dumps(lay.to_dict()))) == lay
    assert Layout.from_dict({"data": "/d", "flats": "f.h5"}).flats == ["f.h5"]
    with pytest.raises(ValueError, match="unknown layout field"):
        Layout.from_dict({"dataset": "/d"})
