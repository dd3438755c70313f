"""The normalised sinograms of a growing scan, kept as the frames arrive.

Darks and flats are kept as they come; each projection block is normalised with them
(:func:`~daisy_widgets.tomography.preprocess.normalize`, then minus-log) on arrival and
appended, so the sinograms of the received angles are ready at any time, with the same
arithmetic as the offline chain on the finished file.
"""

from __future__ import annotations

import numpy as np

from ..preprocess import minus_log, normalize
from .frames import FrameBlock, LiveScanError


class LiveSinograms:
    """Sinograms (rows, angles received, columns) of the selected detector rows.

    Parameters
    ----------
    where
        File or stream address (for messages).
    frame_shape
        (rows, columns) of the frames handed over (the selected rows only).
    capacity
        Expected number of projections (the buffer grows beyond it if needed).
    """

    def __init__(self, where: str, frame_shape: tuple[int, int], capacity: int | None = None):
        self.where = where
        self.frame_shape = tuple(int(s) for s in frame_shape)
        rows, cols = self.frame_shape
        self._sino = np.empty((rows, max(16, int(capacity or 0)), cols), np.float32)
        self._theta = np.empty(self._sino.shape[1], np.float64)
        self.n = 0
        self._darks: list[np.ndarray] = []
        self._flats: list[np.ndarray] = []

    @property
    def darks(self) -> np.ndarray | None:
        """(frames, rows, columns) dark frames received, or None."""
        return np.concatenate(self._darks) if self._darks else None

    @property
    def flats(self) -> np.ndarray | None:
        """(frames, rows, columns) flat frames received, or None."""
        return np.concatenate(self._flats) if self._flats else None

    @property
    def n_darks(self) -> int:
        return sum(len(d) for d in self._darks)

    @property
    def n_flats(self) -> int:
        return sum(len(f) for f in self._flats)

    def add(self, block: FrameBlock) -> None:
        """Keep a block of darks or flats, or normalise and append a block of projections."""
        if tuple(block.frames.shape[1:]) != self.frame_shape:
            raise LiveScanError(
                self.where,
                f"{block.kind} frame {block.first} has shape {tuple(block.frames.shape[1:])}; the scan's frames "
                f"are {self.frame_shape}; the {self.n} projection(s) received are kept",
                self.n,
            )
        if block.kind == "dark":
            self._darks.append(np.asarray(block.frames, np.float32))
            return
        if block.kind == "flat":
            self._flats.append(np.asarray(block.frames, np.float32))
            return
        if not self._flats:
            raise LiveScanError(
                self.where, "projections came before any flat field; expected darks and flats first", self.n
            )
        sino = minus_log(normalize(block.frames, self.flats, self.darks)).transpose(
            1, 0, 2
        )  # (rows, k, cols)
        k = sino.shape[1]
        if self.n + k > self._sino.shape[1]:
            grow = max(self.n + k, 2 * self._sino.shape[1])
            new = np.empty((self._sino.shape[0], grow, self._sino.shape[2]), np.float32)
            new[:, : self.n] = self._sino[:, : self.n]
            self._sino = new
            th = np.empty(grow, np.float64)
            th[: self.n] = self._theta[: self.n]
            self._theta = th
        self._sino[:, self.n : self.n + k] = sino
        self._theta[self.n : self.n + k] = block.theta_deg
        self.n += k

    @property
    def theta_deg(self) -> np.ndarray:
        """(angles,) angles received, degrees."""
        return self._theta[: self.n]

    def sinograms(self) -> np.ndarray:
        """(rows, angles received, columns) minus-log sinograms (a view; do not modify)."""
        return self._sino[:, : self.n]

    def arc_deg(self) -> float:
        """Angular range covered so far, degrees (last minus first angle plus one step)."""
        th = self.theta_deg
        if th.size < 2:
            return 0.0
        step = float(np.median(np.abs(np.diff(th))))
        return float(abs(th[-1] - th[0]) + step)
