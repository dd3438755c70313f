"""The live preview slice: filtered back-projection added angle block by angle block.

FBP is a sum over angles, so each new block of projections is filtered and
back-projected once and added (cost in proportion to the new angles, not to all of
them). The angular weights of a partial arc: angles are grouped into ``sectors`` of the
half-turn (angle modulo 180 degrees, on the grid of the nominal angular step ``delta``);
each angle carries ``delta`` and a sector holding more angles than it has grid cells
(the second half of a 360-degree scan) is scaled by ``cells / angles``, so that a
direction seen twice counts once. A 180-degree scan is summed with ``delta`` per angle
(the limited-angle slice, then the full FBP when complete); a 360-degree scan goes to
``delta / 2`` per angle as the second half comes in.

A new rotation centre (found once 180 degrees are in) is applied by rebuilding the
sector images from the kept sinogram, a chunk of angles per update, while the old
images stay on screen.
"""

from __future__ import annotations

import math

import numpy as np

from ..fbp import UPSAMPLE
from ..filters import filter_sinogram
from ..projectors import backproject


class SectorPreview:
    """Incremental FBP of one sinogram row.

    Parameters
    ----------
    width
        Detector columns = slice size N (the slice is N x N).
    center
        Rotation axis, detector pixels from the centre of the first pixel.
    delta
        Nominal angular step, radians (range / expected projections).
    filter
        FBP filter name.
    sectors
        Groups of the half-turn with their own image (memory: sectors x N x N float32).
    """

    def __init__(self, width: int, center: float, delta: float, filter: str = "ramp", sectors: int = 8):
        self.n = int(width)
        self.center = float(center)
        self.delta = float(delta)
        self.filter = filter
        self.cells_total = max(1, int(round(math.pi / self.delta)))
        self.sectors = max(1, min(int(sectors), self.cells_total))
        j = np.arange(self.cells_total)
        self.cells = np.bincount(j * self.sectors // self.cells_total, minlength=self.sectors).astype(float)
        self._images = np.zeros((self.sectors, self.n, self.n), np.float32)
        self._counts = np.zeros(self.sectors)
        self.angles = 0
        self._rebuild: dict | None = None

    def sector_of(self, theta: np.ndarray) -> np.ndarray:
        """Sector index of each angle (radians)."""
        j = np.rint(np.mod(theta, math.pi) / self.delta).astype(int) % self.cells_total
        return j * self.sectors // self.cells_total

    def _add_to(
        self, images: np.ndarray, counts: np.ndarray, sino: np.ndarray, theta: np.ndarray, center: float
    ):
        q = filter_sinogram(np.ascontiguousarray(sino[None], np.float32), self.filter, np, "edge", UPSAMPLE)
        sec = self.sector_of(theta)
        for s in np.unique(sec):
            idx = np.flatnonzero(sec == s)
            images[s] += backproject(q[:, idx], theta[idx], center, self.n, self.delta, np, UPSAMPLE)[0]
            counts[s] += idx.size

    def add(self, sino: np.ndarray, theta: np.ndarray) -> None:
        """Add new angles: ``sino`` (angles, N) minus-log rows, ``theta`` (angles,) radians."""
        if sino.shape[0] == 0:
            return
        self._add_to(self._images, self._counts, sino, theta, self.center)
        if self._rebuild is not None:
            r = self._rebuild
            self._add_to(r["images"], r["counts"], sino, theta, r["center"])
        self.angles += sino.shape[0]

    def start_rebuild(self, center: float, n_old: int) -> None:
        """Rebuild the images for a new centre from the first ``n_old`` angles (see :meth:`rebuild_step`)."""
        self._rebuild = {
            "center": float(center),
            "images": np.zeros_like(self._images),
            "counts": np.zeros(self.sectors),
            "next": 0,
            "stop": int(n_old),
        }

    @property
    def rebuilding(self) -> bool:
        return self._rebuild is not None

    def rebuild_step(self, sino: np.ndarray, theta: np.ndarray, chunk: int = 64) -> bool:
        """Back-project up to ``chunk`` old angles for the new centre; True when the new images took over.

        ``sino`` (angles, N) and ``theta`` (angles,) radians: all the angles kept so far.
        """
        r = self._rebuild
        if r is None:
            return False
        a, b = r["next"], min(r["stop"], r["next"] + chunk)
        if b > a:
            self._add_to(r["images"], r["counts"], sino[a:b], theta[a:b], r["center"])
            r["next"] = b
        if r["next"] >= r["stop"]:
            self._images, self._counts, self.center = r["images"], r["counts"], r["center"]
            self._rebuild = None
            return True
        return False

    def weights(self) -> np.ndarray:
        """(sectors,) factor of each sector image: ``min(1, cells / angles)``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self._counts > 0, np.minimum(1.0, self.cells / np.maximum(self._counts, 1)), 0.0)

    def image(self) -> np.ndarray:
        """The preview slice, float32 (N, N), attenuation per pixel."""
        w = self.weights().astype(np.float32)
        return np.tensordot(w, self._images, axes=1).astype(np.float32, copy=False)
