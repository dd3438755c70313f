"""Progress reporting and cancellation shared by the engines, the CLI and the widgets.

A caller passes ``progress=callback`` (called with a :class:`ProgressEvent`) and
``cancel=CancelToken()`` to a long operation; the CLI renders events with
:class:`TextProgressBar`, the apps with a progress widget.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from .errors import Cancelled


@dataclass(frozen=True)
class ProgressEvent:
    """State of a running workflow.

    Attributes
    ----------
    workflow, step
        Names of the workflow and of the step now running (``""`` when done).
    step_index, n_steps
        Steps finished so far (0-based index of the running step) and total steps.
    chunks_done, chunks_total
        Chunks of the running step finished and in total (1/1 for unchunked steps).
    fraction
        Overall fraction done, 0..1.
    elapsed
        Seconds since the run started.
    eta
        Estimated seconds left, or None when unknown.
    message
        Free text (e.g. ``"iteration 12/50"``).
    event
        What happened besides progress (format-2 workflows): ``"retry"``, ``"fallback"``,
        ``"skip"``, ``"iteration"`` or ``""``.
    iteration
        Loop round of the running step (1-based; 0 outside a loop).
    attempt
        Attempt of the running step (1-based; 0 when not counted).
    """

    workflow: str
    step: str
    step_index: int
    n_steps: int
    chunks_done: int
    chunks_total: int
    fraction: float
    elapsed: float
    eta: float | None
    message: str = ""
    event: str = ""
    iteration: int = 0
    attempt: int = 0


ProgressCallback = Callable[[ProgressEvent], None]


class CancelToken:
    """A flag the caller sets to stop a running operation (thread-safe)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`Cancelled` if :meth:`cancel` was called."""
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


def estimate_eta(fraction: float, elapsed: float) -> float | None:
    """Linear time-left estimate in seconds (None before any progress)."""
    if fraction <= 0 or fraction > 1:
        return None
    return elapsed * (1.0 - fraction) / fraction


def format_seconds(s: float | None) -> str:
    if s is None:
        return "--:--"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


class TextProgressBar:
    """Render :class:`ProgressEvent` as a one-line bar on a terminal (stderr).

    ``[#####.....]  52%  step 2/4 fbp  chunk 13/25  elapsed 00:12  eta 00:11``
    Redraws at most ``max_rate`` times per second; prints a final newline on :meth:`close`.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 30, max_rate: float = 10.0):
        self.stream = stream or sys.stderr
        self.width = width
        self._min_dt = 1.0 / max_rate
        self._last = 0.0
        self._drawn = False

    def __call__(self, ev: ProgressEvent) -> None:
        now = time.monotonic()
        if ev.fraction < 1.0 and now - self._last < self._min_dt:
            return
        self._last = now
        filled = int(round(self.width * min(max(ev.fraction, 0.0), 1.0)))
        bar = "#" * filled + "." * (self.width - filled)
        step = f"step {min(ev.step_index + 1, ev.n_steps)}/{ev.n_steps} {ev.step}" if ev.n_steps else ""
        chunk = f" chunk {ev.chunks_done}/{ev.chunks_total}" if ev.chunks_total > 1 else ""
        msg = f" {ev.message}" if ev.message else ""
        line = (
            f"\r[{bar}] {100 * ev.fraction:3.0f}%  {step}{chunk}{msg}  "
            f"elapsed {format_seconds(ev.elapsed)}  eta {format_seconds(ev.eta)}"
        )
        self.stream.write(line.ljust(100)[:160])
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
