"""What cannot work is refused before any reconstruction: the message names the file, the field and the
counts/names/page at fault, nothing is written, and the CLI prints no traceback (exit code 1)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from daisy_widgets.cli import main
from daisy_widgets.core.errors import InputFileError
from daisy_widgets.tomography import io
from daisy_widgets.tomography.io import Layout


def _refused(args, tmp_path, capsys) -> str:
    """Run ``daisy tomo recon ARGS -o out``; assert exit 1, no traceback, nothing written; return stderr."""
    out = tmp_path / "out.h5"
    rc = main(["tomo", "recon", *args, "-o", str(out), "--center", "31.5", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "Traceback" not in err and err.startswith("daisy: error:")
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    return err


def test_angle_count_names_both_counts(layouts, tmp_path, capsys):
    bad = tmp_path / "angles.txt"
    bad.write_text("\n".join(str(a) for a in range(80)))
    args = [str(layouts.tiff), "--angles", str(bad), "--flats", "flat*.tif"]
    err = _refused(args, tmp_path, capsys)
    assert str(bad) in err and "90 angles (one per projection)" in err and "80 values" in err


def test_per_frame_angle_count_names_frames_and_projections(layouts, tmp_path, capsys):
    args = [
        str(layouts.nexus),
        "--data",
        "/entry/imaging/data",
        "--image-key",
        "/entry/instrument/imaging/image_key",
        "--angles",
        "0:180:100",
    ]
    err = _refused(args, tmp_path, capsys)
    assert (
        f"90 angles (one per projection) or {layouts.n_frames} (one per frame)" in err and "100 values" in err
    )


def _nexus_copy(layouts, tmp_path, key):
    shutil.copy(layouts.detector, tmp_path / "detector.h5")
    p = tmp_path / "scan.nxs"
    shutil.copy(layouts.nexus, p)
    with h5py.File(p, "a") as f:
        del f["/entry/instrument/imaging/image_key"]
        f["/entry/instrument/imaging/image_key"] = key
    return p


def test_image_key_without_projections_or_flats(layouts, nexus_args, tmp_path, capsys):
    n = layouts.n_frames
    p = _nexus_copy(layouts, tmp_path, np.where(np.arange(n) < 3, 2, 1).astype(np.int8))
    err = _refused([str(p), *nexus_args], tmp_path, capsys)
    assert "/entry/instrument/imaging/image_key" in err and "at least one projection (image key 0)" in err
    assert f"{n - 3} x 1" in err and "3 x 2" in err  # what the key holds
    p = _nexus_copy(layouts, tmp_path, np.where(np.arange(n) < 3, 2, 0).astype(np.int8))
    err = _refused([str(p), *nexus_args], tmp_path, capsys)
    assert "flat fields (image key 1) or --flats" in err and "0 flats_before" in err


def test_path_not_in_the_file_lists_the_nearest_names(layouts, nexus_args, tmp_path, capsys):
    args = [str(layouts.nexus), *nexus_args]
    args[args.index("/entry/imaging/data")] = "/entry/imaging/dat"
    err = _refused(args, tmp_path, capsys)
    assert "[/entry/imaging/dat]" in err and "nearest names: /entry/imaging/data" in err
    with pytest.raises(InputFileError) as e:
        io.read_scan(layouts.nexus, data="/entry/imaging/data", image_key="/entry/image_key", angles="x")
    assert e.value.field == "/entry/image_key" and "/entry/instrument/imaging/image_key" in e.value.found


def test_broken_external_link_names_the_missing_file(layouts, nexus_args, tmp_path, capsys):
    moved = tmp_path / "scan.nxs"
    shutil.copy(layouts.nexus, moved)  # without detector.h5 beside it
    err = _refused([str(moved), *nexus_args], tmp_path, capsys)
    assert "external link to detector.h5:/data" in err and f"{tmp_path / 'detector.h5'} does not exist" in err
    insp = io.inspect_scan(moved)
    assert any("detector.h5" in p and "broken link" in p for p in insp.problems)


def test_frames_of_different_shapes(layouts, tmp_path, capsys):
    import tifffile

    folder = tmp_path / "tiffs"
    shutil.copytree(layouts.tiff, folder)
    odd = folder / "proj_11.tif"
    tifffile.imwrite(odd, np.zeros((4, 60), np.uint16))
    err = _refused([str(folder), "--angles", "angles.txt", "--flats", "flat*.tif"], tmp_path, capsys)
    assert str(odd) in err and "page 0" in err and "(4, 64)" in err and "(4, 60)" in err
    # a separate flats file of another frame shape
    flats = tmp_path / "flats.h5"
    with h5py.File(flats, "w") as f:
        f["flat/data"] = np.ones((2, 4, 32), np.uint16)
    sep = layouts.separate
    args = [str(sep), "--data", "/measurement/frames", "--angles", "/measurement/rotation"]
    err = _refused([*args, "--flats", str(flats), "--flats-path", "/flat/data"], tmp_path, capsys)
    assert str(flats) in err and "/flat/data" in err and "(2, 4, 32)" in err and "(4, 64)" in err


def test_unreadable_tiff_page_is_named(layouts, tmp_path, capsys):
    multi = tmp_path / "proj.tif"
    data = layouts.multipage.read_bytes()
    multi.write_bytes(data[: int(len(data) * 0.6)])  # pages past 60 % lost
    for name in ("flat.tif", "dark.tif"):
        shutil.copy(layouts.multipage.parent / name, tmp_path / name)
    err = _refused([str(multi), "--angles", "0:178:90", "--flats", "flat.tif"], tmp_path, capsys)
    assert str(multi) in err and "[page " in err and "truncated" in err
    garbage = tmp_path / "g" / "proj_0.tif"
    garbage.parent.mkdir()
    garbage.write_bytes(b"II*\x00" + b"\xff" * 64)
    with pytest.raises(InputFileError) as e:
        io.read_scan(garbage.parent, layout=Layout(kind="tiff", angles="0:1:1"))
    assert e.value.path == str(garbage) and e.value.field == "page 0" and "TIFF" in e.value.expected


def test_unknown_layout_points_to_inspect(layouts, tmp_path, capsys):
    err = _refused([str(layouts.nexus)], tmp_path, capsys)
    assert "daisy tomo inspect" in err and "--data" in err
    err = _refused([str(layouts.tiff)], tmp_path, capsys)
    assert "--angles" in err
    for path in (layouts.nexus, layouts.tiff):  # the app tells these apart to offer its layout form
        with pytest.raises(io.UnknownLayoutError):
            io.read_scan(path)


def test_radians_without_a_unit_are_refused(layouts, tmp_path, capsys):
    args = [str(layouts.multipage), "--angles", "0:3.1067:90", "--flats", "flat.tif"]
    err = _refused(args, tmp_path, capsys)
    assert "--angles-unit" in err and "looks like radians" in err


def test_no_traceback_from_the_installed_command(layouts, tmp_path):
    """The same refusal through a real process: message on stderr, exit code 1."""
    out = tmp_path / "out.h5"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "daisy_widgets.cli",
            "tomo",
            "recon",
            str(tmp_path / "nothing.nxs"),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "nothing.nxs" in r.stderr and "no such file" in r.stderr
    assert not out.exists()
