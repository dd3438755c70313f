"""Any HDF5/NeXus scan by named paths (frames, image key, angles, flats, darks), and TIFF stacks.

``read_paths(file, Layout(data=..., image_key=..., angles=...))`` reads what
``daisy tomo recon FILE --data ... --image-key ... --angles ...`` names;
``read_tiff_scan(folder_or_glob_or_file, Layout(kind="tiff", angles=..., flats=..., darks=...))``
reads TIFF projections. Both return the same lazy :class:`~.scan.Scan` and
refuse, before any work, what cannot be read: a missing path (nearest names
listed), a broken external link (the missing file named), an angle count that
does not match the projections (both counts), an image key with no
projections or no flats, frames of different shapes, an unreadable TIFF page.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ...core.errors import InputFileError
from .frames import (
    FrameSelection,
    angles_for_projections,
    parse_unit,
    read_angles,
    select_by_key,
    take_frames,
    to_degrees,
)
from .hdf5 import lazy_dataset, read_array
from .layout import Layout
from .scan import Scan
from .sources import read_reference_frames
from .tiff import expand, series_groups, tiff_frames


def _angles(
    layout: Layout,
    scan_file: str | None,
    base_dirs: list[str],
    n_frames: int,
    sel: FrameSelection | None,
    where: str,
) -> tuple[np.ndarray, str]:
    if not layout.angles:
        raise InputFileError(
            where,
            "--angles",
            "rotation angles: a dataset path, a text file (one per line) or START:STOP:N",
            "not given",
        )
    if layout.angles_unit and parse_unit(layout.angles_unit) is None:
        raise InputFileError(where, "--angles-unit", "deg or rad", repr(layout.angles_unit))
    values, src, unit, kind = read_angles(layout.angles, scan_file, base_dirs)
    unit = parse_unit(layout.angles_unit) or unit
    path = scan_file if kind == "dataset" and scan_file else src
    field = src if kind == "dataset" else "--angles"
    deg = to_degrees(values, unit, path, field)
    return angles_for_projections(deg, n_frames, None if sel is None else sel.projections, path, field), src


def _references(
    layout: Layout,
    scan_file: str | None,
    frames: Any,
    sel: FrameSelection | None,
    base_dirs: list[str],
    where: str,
) -> dict[str, Any]:
    shape = tuple(frames.shape[1:])
    out: dict[str, Any] = {"flats": None, "flats_after": None, "darks": None, "sources": {}}
    if sel is not None:
        before, after = sel.flats_before, sel.flats_after
        out["flats"] = take_frames(frames, before if before.size else after)
        out["flats_after"] = take_frames(frames, after) if before.size and after.size else None
        out["darks"] = take_frames(frames, sel.darks)
    for kind, specs, inner in (
        ("flats", layout.flats, layout.flats_path),
        ("darks", layout.darks, layout.darks_path),
    ):
        if specs:
            out[kind], out["sources"][kind] = read_reference_frames(
                kind, specs, inner, scan_file, shape, base_dirs
            )
            if kind == "flats":
                out["flats_after"] = None
    if out["flats"] is None:
        if sel is not None:
            counts = ", ".join(f"{v} {k}" for k, v in sel.counts().items())
            raise InputFileError(
                where,
                layout.image_key or "--image-key",
                "flat fields (image key 1) or --flats",
                f"none ({counts})",
            )
        raise InputFileError(
            where,
            "--flats",
            "flat fields: --flats FILE_OR_PATH, or --image-key with flats (key 1)",
            "not given",
        )
    return out


def _metadata(scan_file: str) -> dict[str, Any]:
    """Energy, pixel size, distance, sample name and title, where NeXus files usually keep them."""
    from .hdf5 import open_h5, scalar

    with open_h5(scan_file) as f:
        entries = [k for k in f if k.startswith("entry")] or [""]
        meta: dict[str, Any] = {}
        for e in entries[:1]:
            for key, names in (
                (
                    "energy",
                    (
                        "instrument/source/energy",
                        "instrument/monochromator/energy",
                        "instrument/beam/incident_energy",
                    ),
                ),
                ("pixel_size", ("instrument/detector/x_pixel_size", "instrument/imaging/x_pixel_size")),
                ("distance", ("instrument/detector/distance", "instrument/imaging/distance")),
                ("sample_name", ("sample/name",)),
                ("title", ("title",)),
            ):
                v = scalar(f, [f"/{e}/{n}".replace("//", "/") for n in names])
                if v is not None:
                    meta[key] = v
    return meta


def read_paths(path: str | os.PathLike, layout: Layout, validate: bool = True) -> Scan:
    """Read an HDF5/NeXus scan by the dataset paths of ``layout`` (lazily).

    Parameters
    ----------
    path
        The HDF5/NeXus file; external links resolve relative to its folder.
    layout
        ``data`` (frames, required), ``image_key``, ``angles`` (+ ``angles_unit``), ``flats``, ``darks``,
        ``flats_path``, ``darks_path``; see :class:`~.layout.Layout`.
    validate
        Run :meth:`Scan.validate` (reads flats and darks, not projections).

    Returns
    -------
    Scan
        projections ``(angles, rows, columns)`` dask array, theta ``(angles,)`` degrees.
    """
    path = os.path.abspath(os.fspath(path))
    base = [os.path.dirname(path)]
    if not layout.data:
        raise InputFileError(
            path,
            "--data",
            "the dataset path of the frames (run 'daisy tomo inspect' to list candidates)",
            "not given",
        )
    frames = lazy_dataset(path, layout.data, "detector frames (frames, rows, columns)")
    if frames.ndim != 3 or min(frames.shape) == 0:
        raise InputFileError(
            path, layout.data, "a 3-D dataset of frames (frames, rows, columns)", f"shape {frames.shape}"
        )
    sel = None
    if layout.image_key:
        key, _ = read_array(
            path, layout.image_key, "an image key, one per frame (0 projection, 1 flat, 2 dark, 3 invalid)"
        )
        sel = select_by_key(key, frames.shape[0], path, layout.image_key)
    theta, angle_src = _angles(layout, path, base, frames.shape[0], sel, path)
    refs = _references(layout, path, frames, sel, base, path)
    proj = take_frames(frames, sel.projections) if sel is not None else frames
    described = Layout(**{**layout.__dict__, "kind": "paths"}).to_dict()
    described["counts"] = sel.counts() if sel else {"projections": int(frames.shape[0])}
    described["sources"] = refs["sources"]
    scan = Scan(
        proj,
        refs["flats"],
        refs["darks"],
        theta,
        refs["flats_after"],
        _metadata(path),
        path,
        {
            "projections": layout.data,
            "flats": ", ".join(refs["sources"].get("flats", [])) or f"{layout.data} (image key 1)",
            "darks": ", ".join(refs["sources"].get("darks", [])) or f"{layout.data} (image key 2)",
            "flats_after": f"{layout.data} (image key 1, after)",
            "theta": angle_src,
        },
        described,
    )
    if validate:
        scan.validate()
    return scan


def projection_files(spec: str, layout: Layout) -> list[str]:
    """The projection TIFFs of ``spec``: a glob/file as given; a folder's largest series of names,
    leaving out the files named by ``--flats``/``--darks``."""
    files = expand(spec)
    if not files:
        raise InputFileError(
            spec, "", "a folder of TIFFs, a glob matching TIFFs, or a TIFF file", "no TIFF files"
        )
    if os.path.isdir(spec):
        base = [spec]
        refs = {f for s in (layout.flats or []) + (layout.darks or []) for f in expand(s, base)}
        files = [f for f in files if f not in refs]
        groups = series_groups(files)
        files = next(iter(groups.values())) if groups else []
    if not files:
        raise InputFileError(spec, "", "projection TIFFs besides the flats and darks", "none")
    return files


def read_tiff_scan(spec: str | os.PathLike, layout: Layout, validate: bool = True) -> Scan:
    """Read TIFF projections (a folder, a glob or one multi-page file) lazily, with angles and flats/darks.

    ``layout.angles`` is required (text file, ``START:STOP:N``); ``layout.flats`` and ``layout.darks``
    are TIFF (or HDF5) files or globs, relative to the working folder or the projections' folder.
    """
    spec = os.fspath(spec)
    files = projection_files(spec, layout)
    where = os.path.abspath(spec)
    base = [spec if os.path.isdir(spec) else os.path.dirname(files[0])]
    frames = tiff_frames(files, "projections")
    theta, angle_src = _angles(layout, None, base, frames.shape[0], None, where)
    refs = _references(layout, None, frames, None, base, where)
    described = Layout(**{**layout.__dict__, "kind": "tiff"}).to_dict()
    described["files"] = [files[0], files[-1]] if len(files) > 1 else files
    described["counts"] = {"projections": int(frames.shape[0]), "files": len(files)}
    described["sources"] = refs["sources"]
    scan = Scan(
        frames,
        refs["flats"],
        refs["darks"],
        theta,
        None,
        {},
        where,
        {
            "projections": f"{len(files)} TIFF file(s) {os.path.basename(files[0])} .. {os.path.basename(files[-1])}",
            "flats": ", ".join(refs["sources"].get("flats", [])),
            "darks": ", ".join(refs["sources"].get("darks", [])),
            "theta": angle_src,
        },
        described,
    )
    if validate:
        scan.validate()
    return scan
