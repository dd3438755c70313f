"""Provenance of a reconstruction: what was read (files, paths, checksums) and with which software.

:func:`scan_provenance` reads the selected rows of the projections once, block
by block in frame order, computing their SHA-256 and counting NaN/inf values
in the same pass (so the check for bad values that must precede a
reconstruction costs no extra read); flats, darks and angles are hashed too.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
from collections.abc import Callable
from importlib import metadata as _md
from typing import Any

import numpy as np

from ...core.errors import InputFileError

#: bytes of projections read per step of the checksum pass
STEP_BYTES = 64 * 2**20
SOFTWARE = ("daisy-widgets", "numpy", "h5py", "tifffile", "dask", "scipy")


def software_versions() -> dict[str, str]:
    """Versions of Python and of the packages that read and reconstructed the data."""
    out = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            if name == "daisy-widgets":
                from ... import __version__

                out[name] = __version__
    return out


def array_checksum(arr: Any, cancel: Callable[[], bool] | None = None) -> tuple[str, int]:
    """SHA-256 of ``arr``'s values as stored (C order, little-endian), read block by block along
    the first axis; and the number of NaN/inf values.

    Returns
    -------
    (hexdigest, nonfinite)
    """
    h = hashlib.sha256()
    bad = 0
    if arr.ndim == 0 or arr.shape[0] == 0:
        return h.hexdigest(), 0
    row_bytes = max(1, int(np.prod(arr.shape[1:])) * np.dtype(arr.dtype).itemsize)
    step = max(1, STEP_BYTES // row_bytes)
    for a in range(0, arr.shape[0], step):
        if cancel is not None and cancel():
            from ...core.errors import Cancelled

            raise Cancelled("checksum of the input cancelled")
        part = arr[a : a + step]
        part = part.compute(scheduler="threads") if hasattr(part, "compute") else np.asarray(part)
        part = np.ascontiguousarray(part)
        if part.dtype.byteorder == ">":
            part = part.astype(part.dtype.newbyteorder("<"))
        h.update(part.reshape(-1).view(np.uint8))  # the bytes as stored, without a copy
        if part.dtype.kind in "fc":
            bad += int((~np.isfinite(part)).sum())
    return h.hexdigest(), bad


def scan_provenance(
    scan: Any, rows: slice | None = None, cancel: Callable[[], bool] | None = None
) -> dict[str, Any]:
    """Where the input came from and checksums of what was read, for the output files.

    Parameters
    ----------
    scan
        The :class:`~.scan.Scan` read.
    rows
        Detector rows used (default all); projections, flats and darks are hashed over these rows.

    Raises
    ------
    InputFileError
        NaN/inf in the selected rows of the projections (before any reconstruction).
    """
    rows = rows or slice(0, scan.shape[1])
    sums: dict[str, Any] = {}
    for name in ("projections", "flats", "darks", "flats_after"):
        arr = getattr(scan, name, None)
        if arr is None:
            continue
        part = arr[:, rows, :]
        digest, bad = array_checksum(part, cancel)
        if bad and name == "projections":
            raise InputFileError(
                scan.path,
                scan.fields.get("projections", "/exchange/data"),
                "finite detector counts",
                f"{bad} NaN/inf value(s) in rows {rows.start}:{rows.stop}",
            )
        sums[name] = {
            "sha256": digest,
            "shape": list(part.shape),
            "dtype": str(np.dtype(part.dtype)),
            "rows": f"{rows.start}:{rows.stop}",
            "source": scan.fields.get(name, name),
        }
    theta = np.ascontiguousarray(np.asarray(scan.theta, "<f8"))
    sums["theta_degrees"] = {
        "sha256": hashlib.sha256(theta.tobytes()).hexdigest(),
        "shape": list(theta.shape),
        "dtype": "float64",
        "source": scan.fields.get("theta", "theta"),
    }
    layout = {k: v for k, v in (getattr(scan, "layout", None) or {}).items()}
    return {
        "input": str(scan.path),
        "layout": layout,
        "checksums": sums,
        "software": software_versions(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
