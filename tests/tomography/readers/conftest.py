"""Test scans of one phantom in every layout the readers take (written once per session).

The same counts (16-bit, rounded from a simulated scan) go into each layout, so
each must reconstruct to the volume of the Data Exchange file ``ref.h5``:

- ``nexus/scan.nxs``: frames through an HDF5 external link to ``nexus/detector.h5`` at
  ``/entry/imaging/data``; image key at ``/entry/instrument/imaging/image_key`` with darks, flats
  before AND after the projections and invalid (key 3) frames, one of them among the projections;
  one angle per frame in degrees (no units attribute) at ``/entry/sample/positioner/rot``;
- ``separate/scan.h5`` + ``flats.h5`` + ``darks.h5``: projections only, angles in radians (``units``);
- ``tiff/``: single-page 16-bit TIFFs ``proj_<n>.tif`` with gaps in the numbering (unpadded,
  so 10 sorts after 9), ``flat_<n>.tif``, ``dark_<n>.tif``, ``angles.txt`` (degrees);
- ``multipage/proj.tif``: one multi-page TIFF, with one ``flat.tif`` and one ``dark.tif``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

N_ANGLES, SIZE, HEIGHT = 90, 64, 4
CENTER = "31.5"


@dataclass
class Layouts:
    root: Path
    projections: np.ndarray  # (angles, rows, cols) uint16
    flats: np.ndarray
    darks: np.ndarray
    theta_deg: np.ndarray
    ref: Path
    nexus: Path
    detector: Path
    separate: Path
    tiff: Path
    tiff_files: list
    multipage: Path
    n_frames: int


def _write_nexus(root: Path, proj, flats, darks, theta) -> tuple[Path, Path, int]:
    import h5py

    junk = np.full((2, *proj.shape[1:]), 65000, np.uint16)  # invalid frames: must be dropped
    half = len(proj) // 2
    parts = [
        (darks, 2, np.zeros(len(darks))),
        (flats, 1, np.zeros(len(flats))),
        (junk[:1], 3, np.zeros(1)),
        (proj[:half], 0, theta[:half]),
        (junk[1:], 3, np.full(1, theta[half - 1])),
        (proj[half:], 0, theta[half:]),
        (flats, 1, np.full(len(flats), theta[-1])),
    ]
    frames = np.concatenate([p[0] for p in parts])
    key = np.concatenate([np.full(len(p[0]), p[1], np.int8) for p in parts])
    angles = np.concatenate([p[2] for p in parts])
    folder = root / "nexus"
    folder.mkdir()
    det = folder / "detector.h5"
    with h5py.File(det, "w") as f:
        f.create_dataset("data", data=frames, chunks=(1, *frames.shape[1:]))
    nxs = folder / "scan.nxs"
    with h5py.File(nxs, "w") as f:
        e = f.create_group("entry")
        e.attrs["NX_class"] = "NXentry"
        e.create_group("imaging")["data"] = h5py.ExternalLink("detector.h5", "/data")
        e.create_dataset("instrument/imaging/image_key", data=key)
        e.create_dataset("sample/positioner/rot", data=angles)
        e.create_dataset("sample/name", data="phantom")
    return nxs, det, len(frames)


def _write_separate(root: Path, proj, flats, darks, theta) -> Path:
    import h5py

    folder = root / "separate"
    folder.mkdir()
    with h5py.File(folder / "scan.h5", "w") as f:
        f.create_dataset("measurement/frames", data=proj, chunks=(8, proj.shape[1], proj.shape[2]))
        a = f.create_dataset("measurement/rotation", data=np.deg2rad(theta))
        a.attrs["units"] = "rad"
    with h5py.File(folder / "flats.h5", "w") as f:
        f.create_dataset("flat/data", data=flats)
    with h5py.File(folder / "darks.h5", "w") as f:
        f.create_dataset("dark/data", data=darks)
    return folder / "scan.h5"


def _write_tiffs(root: Path, proj, flats, darks, theta) -> tuple[Path, list]:
    import tifffile

    folder = root / "tiff"
    folder.mkdir()
    numbers = [i + i // 7 * 3 for i in range(len(proj))]  # gaps: ... 6, 10, 11 ...
    files = []
    for n, frame in zip(numbers, proj, strict=True):
        files.append(folder / f"proj_{n}.tif")
        tifffile.imwrite(files[-1], frame)
    for i, frame in enumerate(flats):
        tifffile.imwrite(folder / f"flat_{i}.tif", frame)
    for i, frame in enumerate(darks):
        tifffile.imwrite(folder / f"dark_{i}.tif", frame)
    (folder / "angles.txt").write_text(
        "# rotation angle (degrees)\n" + "\n".join(repr(float(t)) for t in theta) + "\n"
    )
    return folder, files


def _write_multipage(root: Path, proj, flats, darks) -> Path:
    import tifffile

    folder = root / "multipage"
    folder.mkdir()
    tifffile.imwrite(folder / "proj.tif", proj, photometric="minisblack")
    tifffile.imwrite(folder / "flat.tif", flats.astype(np.float32).mean(axis=0))
    tifffile.imwrite(folder / "dark.tif", darks.astype(np.float32).mean(axis=0))
    return folder / "proj.tif"


@pytest.fixture(scope="session")
def layouts(tmp_path_factory) -> Layouts:
    from daisy_widgets.tomography import io
    from daisy_widgets.tomography.phantom import ScanOptions, simulate_scan

    sc = simulate_scan(ScanOptions(size=SIZE, height=HEIGHT, n_angles=N_ANGLES, seed=7, n_flats=4, n_darks=3))
    proj, flats, darks = (np.round(a).astype(np.uint16) for a in (sc.projections, sc.flats, sc.darks))
    theta = sc.theta_deg
    root = tmp_path_factory.mktemp("layouts")
    ref = io.write_data_exchange(root / "ref.h5", proj, flats, darks, theta)
    nxs, det, n_frames = _write_nexus(root, proj, flats, darks, theta)
    separate = _write_separate(root, proj, flats, darks, theta)
    tiff, files = _write_tiffs(root, proj, flats, darks, theta)
    multi = _write_multipage(root, proj, flats, darks)
    return Layouts(root, proj, flats, darks, theta, ref, nxs, det, separate, tiff, files, multi, n_frames)


@pytest.fixture(scope="session")
def nexus_args() -> list[str]:
    """The layout options that read ``nexus/scan.nxs``."""
    return list(NEXUS_ARGS)


NEXUS_ARGS = [
    "--data",
    "/entry/imaging/data",
    "--image-key",
    "/entry/instrument/imaging/image_key",
    "--angles",
    "/entry/sample/positioner/rot",
    "--angles-unit",
    "deg",
]
