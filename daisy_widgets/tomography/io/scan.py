"""The scan object every reader returns: projections, flats, darks (lazy), angles, metadata.

Readers by layout (:mod:`.dxchange`, :mod:`.nxtomo`, :mod:`.paths`, :mod:`.tiff`)
all return a :class:`Scan`; nothing of the projections is read until a block is
computed, so a scan larger than memory is processed block by block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...core.errors import InputFileError

#: Data Exchange dataset paths
DX_DATA, DX_FLATS, DX_DARKS, DX_THETA = (
    "/exchange/data",
    "/exchange/data_white",
    "/exchange/data_dark",
    "/exchange/theta",
)
DX_FLATS_POST = "/exchange/data_white_post"


@dataclass
class Scan:
    """A parallel-beam scan.

    Attributes
    ----------
    projections
        (angles, rows, columns) detector counts, dask (lazy) or numpy.
    flats, darks
        (frames, rows, columns) flat-field and dark-field frames, or None.
    theta
        (angles,) rotation angles in **degrees** (numpy).
    flats_after
        Flats taken after the projections (for interpolated normalisation), or None.
    metadata
        ``energy`` (keV), ``pixel_size`` (m), ``sample_name``, ``title``, ``distance`` (m) when present.
    path
        File it was read from.
    fields
        The dataset path of each part (for error messages).
    layout
        How the scan was read (a :class:`~daisy_widgets.tomography.io.layout.Layout` as a dict:
        ``kind`` and the paths/files of each part), for provenance and ``daisy tomo inspect``.
    """

    projections: Any
    flats: Any
    darks: Any
    theta: np.ndarray
    flats_after: Any = None
    metadata: dict = field(default_factory=dict)
    path: str = ""
    fields: dict = field(default_factory=dict)
    layout: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.projections.shape)

    @property
    def theta_rad(self) -> np.ndarray:
        return np.deg2rad(self.theta)

    def validate(self) -> None:
        """Check shapes, angle count, finite and positive flats (reads flats and darks, not projections).

        Raises
        ------
        InputFileError
            Naming the file and the dataset at fault.
        """
        shape = self.projections.shape
        f = self.fields
        if len(shape) != 3 or min(shape) == 0:
            raise InputFileError(
                self.path,
                f.get("projections", DX_DATA),
                "a non-empty 3-D dataset (angles, rows, columns)",
                f"shape {tuple(shape)}",
            )
        if self.theta.ndim != 1 or self.theta.size != shape[0]:
            raise InputFileError(
                self.path,
                f.get("theta", DX_THETA),
                f"{shape[0]} angles in degrees (one per projection)",
                f"{self.theta.size} values",
            )
        if not np.all(np.isfinite(self.theta)):
            raise InputFileError(
                self.path, f.get("theta", DX_THETA), "finite angles in degrees", "NaN or inf"
            )
        darks = None
        for name, arr in (("darks", self.darks), ("flats", self.flats), ("flats_after", self.flats_after)):
            if arr is None:
                continue
            where = f.get(name, name)
            if arr.ndim == 2:
                arr = arr[None]
            if arr.ndim != 3 or tuple(arr.shape[1:]) != tuple(shape[1:]) or arr.shape[0] == 0:
                raise InputFileError(
                    self.path,
                    where,
                    f"frames of shape (n, {shape[1]}, {shape[2]}) like the projections",
                    f"shape {tuple(arr.shape)}",
                )
            mean = np.asarray(
                arr.mean(axis=0).compute() if hasattr(arr, "compute") else arr.mean(axis=0), np.float64
            )
            if not np.all(np.isfinite(mean)):
                raise InputFileError(
                    self.path, where, "finite counts", f"{int((~np.isfinite(mean)).sum())} NaN/inf pixels"
                )
            if name == "darks":
                darks = mean
            else:
                low = mean - (darks if darks is not None else 0.0) <= 0
                if low.any():
                    raise InputFileError(
                        self.path,
                        where,
                        "flat-field counts above the dark counts in every pixel",
                        f"{int(low.sum())} pixel(s) with flat <= dark (zero or negative flat)",
                    )

    def block(self, rows: slice | None = None) -> dict[str, np.ndarray]:
        """Read the projections/flats/darks for detector ``rows`` into memory, checked finite.

        Returns ``{"projections": (angles, r, cols), "flats": ..., "darks": ..., "flats_after": ...}``
        as float32 numpy arrays (absent parts omitted).
        """
        rows = rows or slice(None)
        out: dict[str, np.ndarray] = {}
        for name in ("projections", "flats", "darks", "flats_after"):
            arr = getattr(self, name)
            if arr is None:
                continue
            part = arr[:, rows, :]
            part = np.asarray(part.compute() if hasattr(part, "compute") else part, dtype=np.float32)
            if np.dtype(arr.dtype).kind not in "fc":  # integer counts are finite: no pass over the block
                out[name] = part
                continue
            bad = ~np.isfinite(part)
            if bad.any():
                raise InputFileError(
                    self.path,
                    self.fields.get(name, name),
                    "finite values",
                    f"{int(bad.sum())} NaN/inf value(s)",
                )
            out[name] = part
        return out
