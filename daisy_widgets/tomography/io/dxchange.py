"""Data Exchange HDF5 (``/exchange/data``, ``data_white``, ``data_dark``, ``theta``): lazy reader and writer.

The layout TomoPy's ``dxchange`` reads and writes; ``theta`` is in degrees
unless its ``units`` attribute says radians.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...core.atomic import atomic_path
from ...core.errors import InputFileError
from .frames import parse_unit, to_degrees
from .hdf5 import attr_text, lazy_dataset, open_h5, resolve_dataset, scalar
from .scan import DX_DARKS, DX_DATA, DX_FLATS, DX_FLATS_POST, DX_THETA, Scan

#: where Data Exchange files keep the metadata the pipeline uses (first found wins)
DX_METADATA = (
    (
        "energy",
        (
            "/measurement/instrument/monochromator/energy",
            "/measurement/instrument/source/energy",
            "/exchange/energy",
        ),
    ),
    (
        "pixel_size",
        (
            "/measurement/instrument/detector/pixel_size_x",
            "/measurement/instrument/detection_system/objective/resolution",
        ),
    ),
    (
        "distance",
        ("/measurement/instrument/sample/setup/distance", "/measurement/instrument/detector/distance"),
    ),
    ("sample_name", ("/measurement/sample/name",)),
    ("title", ("/exchange/title",)),
)


def _has(f, name: str) -> bool:
    try:
        return f.get(name, getlink=True) is not None
    except (KeyError, ValueError):
        return False


def read_data_exchange(
    path: str | os.PathLike,
    *,
    data: str = DX_DATA,
    flats: str = DX_FLATS,
    darks: str = DX_DARKS,
    theta: str = DX_THETA,
    validate: bool = True,
) -> Scan:
    """Read a Data Exchange file lazily.

    Parameters
    ----------
    path
        HDF5 file.
    data, flats, darks, theta
        Dataset paths (defaults: the Data Exchange standard; ``theta`` in degrees).
    validate
        Run :meth:`Scan.validate` (reads the flats and darks only).

    Returns
    -------
    Scan
        projections ``(angles, rows, columns)`` as a dask array over the file's chunks.
    """
    path = os.path.abspath(os.fspath(path))
    with open_h5(path) as f:
        try:
            if not _has(f, data):
                raise InputFileError(
                    path, data, "a 3-D dataset of projections (angles, rows, columns)", "missing"
                )
            if not _has(f, theta):
                raise InputFileError(
                    path, theta, "rotation angles in degrees (one per projection)", "missing"
                )
            present = {
                k: _has(f, n) for k, n in (("flats", flats), ("darks", darks), ("post", DX_FLATS_POST))
            }
            meta: dict[str, Any] = {}
            for key, names in DX_METADATA:
                v = scalar(f, names)
                if v is not None:
                    meta[key] = v
            if "/exchange" in f:
                meta.update(
                    {
                        k: (v.item() if isinstance(v, np.generic) else v)
                        for k, v in f["/exchange"].attrs.items()
                        if isinstance(v, (int, float, str, np.generic))
                    }
                )
        except OSError as exc:  # a truncated file fails on first access to a dataset
            raise InputFileError(path, data, "a readable dataset (file truncated?)", str(exc)) from None
    try:
        proj = lazy_dataset(path, data, "a 3-D dataset of projections (angles, rows, columns)")
        fl = lazy_dataset(path, flats, "flat-field frames") if present["flats"] else None
        dk = lazy_dataset(path, darks, "dark-field frames") if present["darks"] else None
        fa = lazy_dataset(path, DX_FLATS_POST, "flat-field frames") if present["post"] else None
        tpath, tname = resolve_dataset(path, theta, "rotation angles in degrees (one per projection)")
        with open_h5(tpath) as f:
            th = np.asarray(f[tname][()], dtype=np.float64).ravel()
            units = attr_text(f[tname].attrs, "units", "")
    except OSError as exc:
        raise InputFileError(path, data, "a readable dataset (file truncated?)", str(exc)) from None
    # no units attribute: degrees, unless the values plainly are radians (refused: say --angles-unit)
    th = to_degrees(th, parse_unit(units) if units else None, path, theta)
    scan = Scan(
        proj,
        fl,
        dk,
        th,
        fa,
        meta,
        path,
        {"projections": data, "flats": flats, "darks": darks, "theta": theta, "flats_after": DX_FLATS_POST},
        {"kind": "dxchange", "data": data, "angles": theta, "flats": [flats], "darks": [darks]},
    )
    if validate:
        scan.validate()
    return scan


def hdf5_attr(v: Any) -> Any:
    """A value as an HDF5 attribute: scalars and numeric lists as they are, anything else as JSON text."""
    if v is None:
        return "None"
    if isinstance(v, (bool, int, float, str, np.generic)):
        return v
    if isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) for x in v):
        return np.asarray(v)
    return json.dumps(v, default=str)


def write_data_exchange(
    path: str | os.PathLike,
    projections: np.ndarray,
    flats: np.ndarray | None,
    darks: np.ndarray | None,
    theta_deg: np.ndarray,
    *,
    metadata: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    dtype: Any = None,
) -> Path:
    """Write a raw scan as Data Exchange (atomically). Chunks are (angles<=32, rows<=8, columns)."""
    import h5py

    path = Path(path)
    metadata = dict(metadata or {})
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["implements"] = "exchange:measurement"
        ex = f.create_group("exchange")
        na, nr, nc = projections.shape
        ch = (min(na, 32), min(nr, 8), nc)
        ex.create_dataset("data", data=projections.astype(dtype or projections.dtype), chunks=ch)
        if flats is not None:
            ex.create_dataset("data_white", data=flats.astype(dtype or flats.dtype), chunks=(1, ch[1], nc))
        if darks is not None:
            ex.create_dataset("data_dark", data=darks.astype(dtype or darks.dtype), chunks=(1, ch[1], nc))
        ds = ex.create_dataset("theta", data=np.asarray(theta_deg, np.float64))
        ds.attrs["units"] = "degrees"
        if "title" in metadata:
            ex.create_dataset("title", data=str(metadata["title"]))
        for k, v in (attrs or {}).items():
            ex.attrs[k] = hdf5_attr(v)
        m = f.create_group("measurement")
        if "sample_name" in metadata:
            m.create_dataset("sample/name", data=str(metadata["sample_name"]))
        if "energy" in metadata:
            e = m.create_dataset("instrument/monochromator/energy", data=float(metadata["energy"]))
            e.attrs["units"] = "keV"
        if "pixel_size" in metadata:
            p = m.create_dataset("instrument/detector/pixel_size_x", data=float(metadata["pixel_size"]))
            p.attrs["units"] = "m"
        if "distance" in metadata:
            d = m.create_dataset("instrument/detector/distance", data=float(metadata["distance"]))
            d.attrs["units"] = "m"
    return path
