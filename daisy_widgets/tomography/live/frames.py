"""What every source of a growing scan hands over: blocks of frames, and the faults it reports.

A *source* (:class:`~.swmr_source.SwmrFileSource`, :class:`~.zmq_source.ZmqFrameSource`)
has one interface, :class:`FrameSource`: ``poll()`` returns the blocks of frames that came
since the last call (in order, each frame once), ``state`` says whether the scan is still
acquiring, complete, stopped or stalled, and ``close()`` lets go of the file or socket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ...core.errors import DaisyError

#: states of a followed scan
WAITING, ACQUIRING, COMPLETE, STOPPED, STALLED, FAILED = (
    "waiting",
    "acquiring",
    "complete",
    "stopped",
    "stalled",
    "failed",
)
FINAL_STATES = (COMPLETE, STOPPED, STALLED, FAILED)


@dataclass
class FrameBlock:
    """Consecutive frames of one kind.

    Attributes
    ----------
    kind : ``"dark"``, ``"flat"`` or ``"projection"``
    first : index of the first frame among the frames of its kind
    frames : (n, rows, columns) detector counts (the selected rows only)
    theta_deg : (n,) angles in degrees (projections), else None
    written : (n,) seconds since the epoch when the writer flushed each frame, or None
    received : seconds since the epoch when the source read the block
    """

    kind: str
    first: int
    frames: np.ndarray
    theta_deg: np.ndarray | None = None
    written: np.ndarray | None = None
    received: float = 0.0

    def __len__(self) -> int:
        return int(self.frames.shape[0])


@dataclass
class SourceInfo:
    """What a source knows of the scan: expected counts, frame shape, file/stream address."""

    address: str
    frame_shape: tuple[int, int] | None = None
    frames_expected: int | None = None
    flats_expected: int | None = None
    darks_expected: int | None = None
    angle_range: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class FrameSource(Protocol):
    """A follower of a growing scan (file or stream)."""

    info: SourceInfo
    state: str
    message: str

    def poll(self) -> list[FrameBlock]:
        """The frames that came since the last call (maybe none); updates ``state``."""

    def close(self) -> None:
        """Release the file or socket."""


class LiveScanError(DaisyError):
    """A followed scan cannot go on (frame shape changed, file not SWMR-readable, ...).

    ``where`` is the file or stream address, ``frames`` the number of frames kept so far.
    """

    def __init__(self, where: str, message: str, frames: int = 0):
        self.where, self.frames = where, frames
        super().__init__(f"{where}: {message}")
