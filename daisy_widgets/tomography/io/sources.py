"""Flat and dark frames given explicitly: a dataset in the scan file, separate HDF5 files, or TIFF files.

``--flats``/``--darks`` take one or more values. A value that names an existing
file (or a glob matching files; relative names are tried from the working
folder, then beside the scan) is a separate file: HDF5 (the dataset is
``--flats-path``/``--darks-path``, else the one dataset of frames of the right
shape in it) or TIFF (every page a frame). Any other value is a dataset path
in the scan file. One frame or many; a 2-D dataset is one frame.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any

from ...core.errors import InputFileError
from .hdf5 import dataset_names, is_hdf5, lazy_dataset, open_h5
from .tiff import expand, is_tiff_name, tiff_frames

FILE_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs", ".nx", ".nx5", ".tif", ".tiff")
#: preferred dataset names in a separate flat/dark HDF5 file
PREFERRED = {
    "flats": (
        "/exchange/data_white",
        "/exchange/data",
        "/entry/data/data",
        "/entry/instrument/detector/data",
    ),
    "darks": ("/exchange/data_dark", "/exchange/data", "/entry/data/data", "/entry/instrument/detector/data"),
}


def _files(spec: str, base_dirs: Sequence[str]) -> list[str]:
    tries = [spec] if os.path.isabs(spec) else [spec] + [os.path.join(b, spec) for b in base_dirs]
    for s in tries:
        if glob.has_magic(s):
            found = sorted(f for f in glob.glob(s) if os.path.isfile(f))
            if found:
                return (
                    expand(s) if all(is_tiff_name(f) for f in found) else [os.path.abspath(f) for f in found]
                )
        elif os.path.isfile(s):
            return [os.path.abspath(s)]
    return []


def _frames_in_hdf5(
    path: str, inner: str | None, frame_shape: tuple, kind: str, option: str
) -> tuple[Any, str]:
    if inner:
        return lazy_dataset(path, inner, f"{kind[:-1]} frames (frames, rows, columns)"), inner
    with open_h5(path) as f:
        cands = []
        for name in dataset_names(f):
            try:
                d = f[name]
                shape = tuple(d.shape)
            except (KeyError, OSError):
                continue
            if d.dtype.kind in "uif" and len(shape) in (2, 3) and shape[-2:] == tuple(frame_shape):
                cands.append(name)
    for name in PREFERRED[kind]:
        if name in cands:
            return lazy_dataset(path, name), name
    if len(cands) == 1:
        return lazy_dataset(path, cands[0]), cands[0]
    found = f"{len(cands)} candidates: {', '.join(cands)}" if cands else "no dataset of that frame shape"
    raise InputFileError(
        path,
        f"{option}-path",
        f"one dataset of {kind} of frame shape {tuple(frame_shape)} (name it with {option}-path)",
        found,
    )


def read_reference_frames(
    kind: str,
    specs: Sequence[str],
    inner: str | None,
    scan_file: str | None,
    frame_shape: tuple,
    base_dirs: Sequence[str] = (),
) -> tuple[Any, list[str]]:
    """Read flats or darks named on the command line.

    Parameters
    ----------
    kind
        ``"flats"`` or ``"darks"``.
    specs
        Values of ``--flats``/``--darks``.
    inner
        ``--flats-path``/``--darks-path``: the dataset inside separate HDF5 files.
    scan_file
        The scan's HDF5 file (dataset paths are looked up there), or None (TIFF scans).
    frame_shape
        ``(rows, columns)`` of the projections.

    Returns
    -------
    (frames, sources)
        A dask array ``(n, rows, columns)`` and a description of each source (``file`` or ``file:/path``).
    """
    import dask.array as da

    option = f"--{kind}"
    parts, sources = [], []
    for spec in specs:
        files = _files(spec, base_dirs)
        if not files:
            looks_like_file = glob.has_magic(spec) or spec.lower().endswith(FILE_SUFFIXES)
            if scan_file is None or looks_like_file:
                raise InputFileError(
                    spec,
                    option,
                    f"{kind}: an existing file, a glob matching files, or a dataset path",
                    "no such file",
                )
            arr = lazy_dataset(scan_file, spec, f"{kind[:-1]} frames (frames, rows, columns)")
            parts.append((arr, scan_file, spec))
            sources.append(f"{scan_file}:{spec}")
            continue
        tiffs = [f for f in files if not is_hdf5(f)]
        for f in [f for f in files if is_hdf5(f)]:
            arr, name = _frames_in_hdf5(f, inner, frame_shape, kind, option)
            parts.append((arr, f, name))
            sources.append(f"{f}:{name}")
        if tiffs:
            parts.append((tiff_frames(tiffs, option), tiffs[0] if len(tiffs) == 1 else spec, option))
            sources.extend(tiffs)
    out = []
    for arr, where, name in parts:
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or tuple(arr.shape[1:]) != tuple(frame_shape) or arr.shape[0] == 0:
            raise InputFileError(
                where,
                name,
                f"{kind} of frame shape {tuple(frame_shape)} like the projections",
                f"shape {tuple(arr.shape)}",
            )
        out.append(arr)
    return (da.concatenate(out, axis=0) if len(out) > 1 else out[0]), sources
