"""Angles and image keys: where the rotation angles come from, and which frame is what.

``--angles`` is a dataset path, a text file (one angle per line; ``#`` starts a
comment) or ``START:STOP:N`` (``numpy.linspace(START, STOP, N)``, both ends
included, as ``tomopy.angles``). An image key has one value per frame: 0
projection, 1 flat, 2 dark, 3 invalid (dropped; NXtomo's ``image_key_control``
-1, alignment, is dropped too). Angles given per frame are selected by the key;
angles given per projection are used as they are.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...core.errors import InputFileError

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
RANGE = re.compile(rf"^\s*({_NUM})\s*:\s*({_NUM})\s*:\s*(\d+)\s*$")
UNITS = {"deg": "deg", "degree": "deg", "degrees": "deg", "rad": "rad", "radian": "rad", "radians": "rad"}


def parse_unit(text: Any) -> str | None:
    """``"deg"``/``"rad"`` from a unit name (bytes or str, any case), None if not an angle unit."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return UNITS.get(str(text).strip().lower())


def find_file(spec: str, base_dirs: Sequence[str | os.PathLike] = ()) -> str | None:
    """``spec`` as an existing file: as given (absolute or from the working folder), else in ``base_dirs``."""
    if os.path.isfile(spec):
        return os.path.abspath(spec)
    if not os.path.isabs(spec):
        for base in base_dirs:
            p = os.path.join(os.fspath(base), spec)
            if os.path.isfile(p):
                return os.path.abspath(p)
    return None


def read_angle_text(path: str) -> np.ndarray:
    """Numbers of a text file, one or more per line (spaces or commas), ``#`` comments skipped."""
    values: list[float] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise InputFileError(path, "", "a readable text file of angles", str(exc)) from None
    for i, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].replace(",", " ").strip()
        for tok in text.split():
            try:
                values.append(float(tok))
            except ValueError:
                raise InputFileError(
                    path, f"line {i}", "one number per line (an angle)", repr(line.strip())
                ) from None
    if not values:
        raise InputFileError(path, "", "angles, one per line", "no numbers")
    return np.asarray(values, np.float64)


def read_angles(
    spec: str,
    h5path: str | None,
    base_dirs: Sequence[str | os.PathLike] = (),
    option: str = "--angles",
) -> tuple[np.ndarray, str, str | None, str]:
    """Read the angles named by ``spec``.

    Returns
    -------
    (values, where, unit, source)
        Values as given (not converted), where they came from (for messages), the unit the source
        states (``"deg"``, ``"rad"`` or None) and the kind of source (``"range"``, ``"text"``, ``"dataset"``).
    """
    m = RANGE.match(spec)
    if m:
        n = int(m.group(3))
        if n < 1:
            raise InputFileError(spec, option, "START:STOP:N with N >= 1", f"N = {n}")
        return np.linspace(float(m.group(1)), float(m.group(2)), n), spec, None, "range"
    text = find_file(spec, base_dirs)
    if text is not None and not _is_hdf5(text):
        return read_angle_text(text), text, None, "text"
    if h5path is None:
        raise InputFileError(
            spec, option, "a text file of angles (one per line) or START:STOP:N", "no such file"
        )
    from .hdf5 import read_array

    values, attrs = read_array(h5path, spec, "rotation angles (one per frame or per projection)")
    unit = None
    for k in ("units", "unit"):
        if k in attrs:
            unit = parse_unit(attrs[k])
            break
    return np.asarray(values, np.float64).ravel(), spec, unit, "dataset"


def _is_hdf5(path: str) -> bool:
    from .hdf5 import is_hdf5

    return is_hdf5(path)


def to_degrees(values: np.ndarray, unit: str | None, path: str, where: str) -> np.ndarray:
    """Angles in degrees. ``unit`` None means degrees, unless the values plainly are radians (refused)."""
    values = np.asarray(values, np.float64).ravel()
    if not np.all(np.isfinite(values)):
        raise InputFileError(path, where, "finite angles", f"{int((~np.isfinite(values)).sum())} NaN/inf")
    if unit == "rad":
        return np.rad2deg(values)
    if unit is None and values.size >= 10:
        span = float(np.ptp(values))
        if 1.0 < span <= 2 * np.pi * 1.001 and float(np.max(np.abs(values))) <= 2 * np.pi * 1.001:
            raise InputFileError(
                path,
                where,
                "angles with a stated unit (--angles-unit deg or rad)",
                f"{values.size} values spanning {span:.4g} and no units attribute, which looks like radians",
            )
    return values


@dataclass
class FrameSelection:
    """Frame indices by kind, from an image key."""

    projections: np.ndarray
    flats_before: np.ndarray
    flats_after: np.ndarray
    darks: np.ndarray
    dropped: int
    n_frames: int

    def counts(self) -> dict[str, int]:
        return {
            "projections": int(self.projections.size),
            "flats_before": int(self.flats_before.size),
            "flats_after": int(self.flats_after.size),
            "darks": int(self.darks.size),
            "invalid": int(self.dropped),
        }


def select_by_key(key: np.ndarray, n_frames: int, path: str, field: str) -> FrameSelection:
    """Split frames by image key; refuse a key of the wrong length, unknown values or no projections."""
    key = np.asarray(key).ravel()
    if key.size != n_frames:
        raise InputFileError(
            path, field, f"one image key per frame ({n_frames} frames)", f"{key.size} values"
        )
    key = key.astype(np.int64)
    unknown = sorted(set(np.unique(key).tolist()) - {-1, 0, 1, 2, 3})
    if unknown:
        raise InputFileError(
            path, field, "image key values 0 (projection), 1 (flat), 2 (dark), 3 (invalid)", f"{unknown}"
        )
    proj = np.flatnonzero(key == 0)
    flats = np.flatnonzero(key == 1)
    darks = np.flatnonzero(key == 2)
    counts = ", ".join(f"{int((key == v).sum())} x {v}" for v in (0, 1, 2, 3) if (key == v).any())
    if proj.size == 0:
        raise InputFileError(path, field, "at least one projection (image key 0)", f"none ({counts})")
    return FrameSelection(
        proj,
        flats[flats < proj[-1]],
        flats[flats > proj[-1]],
        darks,
        int(((key == 3) | (key == -1)).sum()),
        n_frames,
    )


def take_frames(arr: Any, idx: np.ndarray) -> Any:
    """Frames ``idx`` (sorted) of ``arr`` as contiguous runs joined (few dask blocks), or None if empty."""
    idx = np.asarray(idx, np.int64)
    if idx.size == 0:
        return None
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    runs = [(int(r[0]), int(r[-1]) + 1) for r in np.split(idx, breaks)]
    parts = [arr[a:b] for a, b in runs]
    if len(parts) == 1:
        return parts[0]
    if hasattr(arr, "dask"):
        import dask.array as da

        return da.concatenate(parts, axis=0)
    return np.concatenate(parts, axis=0)


def angles_for_projections(
    angles_deg: np.ndarray, n_frames: int, projections: np.ndarray | None, path: str, where: str
) -> np.ndarray:
    """Angles per projection: as given when one per projection, selected by the key when one per frame."""
    n_proj = n_frames if projections is None else int(projections.size)
    if angles_deg.size == n_proj:
        return angles_deg
    if projections is not None and angles_deg.size == n_frames:
        return angles_deg[projections]
    per_frame = f" or {n_frames} (one per frame)" if projections is not None and n_frames != n_proj else ""
    raise InputFileError(
        path,
        where,
        f"{n_proj} angles (one per projection){per_frame}",
        f"{angles_deg.size} values",
    )
