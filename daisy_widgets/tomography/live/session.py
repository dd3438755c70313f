"""Live reconstruction: follow a source, keep the sinograms, update the preview slice and the centre.

:class:`LiveReconstruction` drives one :class:`~.frames.FrameSource` (a SWMR file or a
ZeroMQ stream): each :meth:`~LiveReconstruction.step` reads the new frames, normalises
them into the sinograms of the chosen rows, adds the new angles to the preview slice
(:class:`~.preview.SectorPreview`), finds the rotation centre once 180 degrees are in,
and reports a :class:`LiveStatus` to ``on_update``. :meth:`~LiveReconstruction.run`
loops until the scan is complete, stopped, stalled or cancelled (from another thread
with :meth:`~LiveReconstruction.cancel`); :meth:`~LiveReconstruction.start` runs it on a
thread. The final slices (:meth:`~LiveReconstruction.final_slices`) are reconstructed
from the kept sinograms with :func:`~daisy_widgets.tomography.recon.reconstruct`, as the
offline chain does on the finished file.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .frames import COMPLETE, FAILED, FINAL_STATES, STALLED, FrameSource, LiveScanError
from .preview import SectorPreview
from .sinograms import LiveSinograms


@dataclass
class LiveStatus:
    """One update of a live reconstruction (no big arrays but the preview and the sinogram row).

    Attributes
    ----------
    state, message : the source's state (``acquiring``, ``complete``, ``stalled`` ...) and words
    frames, expected : projections received, and expected (None if unknown)
    darks, flats : dark and flat frames received
    rate : projections per second over the last few seconds
    lag : seconds from the newest frame's writing to this preview (None before the first)
    arc : degrees covered so far
    center : rotation axis used by the preview (px); ``center_found``: estimated from the data
    preview : (N, N) float32 slice, or None before the first projection
    sinogram : (angles, N) float32 sinogram of the preview row
    version : increases with every update
    """

    state: str = "waiting"
    message: str = ""
    frames: int = 0
    expected: int | None = None
    darks: int = 0
    flats: int = 0
    rate: float = 0.0
    lag: float | None = None
    arc: float = 0.0
    center: float | None = None
    center_found: bool = False
    preview: np.ndarray | None = None
    sinogram: np.ndarray | None = None
    version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """The progress line: frames, rate, lag, arc, centre, state."""
        exp = f"/{self.expected}" if self.expected else ""
        lag = f"{self.lag:5.2f} s" if self.lag is not None else "  -  "
        how = " (found)" if self.center_found else f" ({self.extra.get('center_source', 'middle')})"
        c = f"{self.center:.2f} px{how}" if self.center is not None else "-"
        return (
            f"frames {self.frames}{exp}  rate {self.rate:5.1f}/s  lag {lag}  arc {self.arc:5.1f}°  "
            f"centre {c}  [{self.state}]"
        )


class LiveReconstruction:
    """Follow ``source`` and keep a preview slice of ``preview_row`` up to date.

    Parameters
    ----------
    source
        A :class:`~.frames.FrameSource`.
    preview_row
        Row, among the rows the source hands over, of the preview slice (default the middle).
    center
        Rotation axis in pixels, or ``"auto"`` (the detector middle until 180 degrees are
        in, then :func:`~daisy_widgets.tomography.center.find_center` on the preview row).
    filter
        FBP filter of the preview.
    sectors
        Sector images of the preview (memory sectors x N x N float32).
    on_update
        ``callback(status)`` after each update with new frames, and at the end.
    poll_interval
        Seconds between polls when no frame came.
    """

    def __init__(
        self,
        source: FrameSource,
        preview_row: int | None = None,
        center: float | str = "auto",
        filter: str = "ramp",
        sectors: int = 8,
        on_update: Callable[[LiveStatus], None] | None = None,
        poll_interval: float = 0.05,
        rebuild_chunk: int = 64,
    ):
        self.source = source
        self.center_option = center
        self.filter = filter
        self.sectors = sectors
        self.on_update = on_update
        self.poll_interval = float(poll_interval)
        self.rebuild_chunk = int(rebuild_chunk)
        self.preview_row = preview_row
        self.sinos: LiveSinograms | None = None
        self.preview: SectorPreview | None = None
        self.status = LiveStatus()
        self.lags: list[float] = []  # seconds from writing to the first preview showing it, per projection
        self._pending: list[float] = []  # writing times of projections not yet in a preview
        self._recent: deque[tuple[float, int]] = deque(maxlen=64)
        self._cancel = threading.Event()
        self._centre_job: threading.Thread | None = None
        self._centre_found: list[float] = []
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    # ------------------------------------------------------------------ one step
    def _setup(self) -> None:
        info = self.source.info
        shape = info.frame_shape
        rows = len(range(*self.source.rows.indices(shape[0]))) if hasattr(self.source, "rows") else shape[0]
        self.sinos = LiveSinograms(info.address, (rows, shape[1]), info.frames_expected)
        if self.preview_row is None:
            self.preview_row = rows // 2
        if not 0 <= self.preview_row < rows:
            raise LiveScanError(
                info.address, f"preview row {self.preview_row} is outside the {rows} row(s) read"
            )

    def _delta(self, theta_deg: np.ndarray) -> float:
        info = self.source.info
        if info.frames_expected and info.angle_range:
            return math.radians(float(info.angle_range) / int(info.frames_expected))
        if theta_deg.size >= 2:
            return math.radians(float(np.median(np.abs(np.diff(theta_deg)))))
        return math.pi / 180.0

    def step(self) -> bool:
        """Poll once and update; False when the scan has ended (complete, stopped, stalled, failed)."""
        blocks = self.source.poll()
        n_before = self.sinos.n if self.sinos is not None else 0
        try:
            for b in blocks:
                if self.sinos is None:
                    self._setup()
                self.sinos.add(b)
                if b.kind == "projection":
                    w = b.written if b.written is not None else np.full(len(b), b.received)
                    self._pending.extend(np.asarray(w, float).tolist())
        except LiveScanError as exc:
            self.source.state, self.source.message = FAILED, str(exc)
            raise
        s = self.sinos
        new = s.n - n_before if s is not None else 0
        updated = False
        if new > 0 and s.n >= 2:  # one angle alone: wait for the next to know the step
            self._update_preview(n_before if self.preview is not None else 0)
            updated = True
        elif self.preview is not None:
            self._take_centre()
            if self.preview.rebuilding:
                self._rebuild_step()
        if updated:  # (the end is published by run(), once the centre and the last image are done)
            now = time.time()
            if updated and self._pending:
                self.lags.extend(now - t for t in self._pending)
                self.status.lag = now - self._pending[-1]
                self._pending.clear()
            self._publish(now)
        return self.source.state not in FINAL_STATES

    def _update_preview(self, first_new: int) -> None:
        s = self.sinos
        row = s.sinograms()[self.preview_row]
        theta = np.deg2rad(s.theta_deg)
        if self.preview is None:
            c = self.center_option
            c0 = float(c) if not isinstance(c, str) else (row.shape[1] - 1) / 2.0
            self.preview = SectorPreview(
                row.shape[1], c0, self._delta(s.theta_deg), self.filter, self.sectors
            )
            self.status.center, self.status.center_found = c0, False
            self.status.extra["center_source"] = "given" if not isinstance(c, str) else "middle"
            first_new = 0
        self.preview.add(row[first_new:], theta[first_new:])
        if (
            self.center_option == "auto"
            and self._centre_job is None
            and np.ptp(theta) + self.preview.delta >= math.pi - 1e-9
        ):  # 180 degrees are in: find the centre on a thread, the preview goes on meanwhile
            half = theta < theta[0] + math.pi - 1e-9
            self._centre_job = threading.Thread(
                target=self._find_centre, args=(row[half].copy(), theta[half].copy()), daemon=True
            )
            self._centre_job.start()
        self._take_centre()
        if self.preview.rebuilding:
            self._rebuild_step()

    def _find_centre(self, sino: np.ndarray, theta: np.ndarray) -> None:
        from ..center import find_center

        try:
            self._centre_found.append(float(find_center(sino, theta)))
        except Exception as exc:  # the preview keeps the middle; said in the status
            self.status.extra["center_error"] = str(exc)

    def _take_centre(self) -> None:
        """Use the centre found on the thread (once): rebuild the preview with it."""
        if self._centre_found and not self.status.center_found and self.preview is not None:
            c = self._centre_found[0]
            self.status.center, self.status.center_found = c, True
            self.preview.start_rebuild(c, self.sinos.n)

    def _rebuild_step(self) -> None:
        s = self.sinos
        self.preview.rebuild_step(
            s.sinograms()[self.preview_row], np.deg2rad(s.theta_deg), self.rebuild_chunk
        )

    def _publish(self, now: float, final: bool = False) -> None:
        s, st = self.sinos, self.status
        if s is not None:
            if not self._recent or self._recent[-1][1] != s.n:
                self._recent.append((now, s.n))
            t0, n0 = self._recent[0]
            t1, n1 = self._recent[-1]
            st.rate = (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0
            st.frames, st.darks, st.flats, st.arc = s.n, s.n_darks, s.n_flats, s.arc_deg()
            if self.preview is not None:
                st.preview = self.preview.image()
                st.sinogram = s.sinograms()[self.preview_row]
        st.expected = self.source.info.frames_expected
        st.state, st.message = self.source.state, self.source.message
        if not final and st.state in FINAL_STATES:  # run() reports the end, after the centre and last image
            st.state = "finishing"
        st.version += 1
        if self.on_update is not None:
            self.on_update(st)

    # ------------------------------------------------------------------ loop
    @staticmethod
    def warm_up(filter: str = "ramp") -> None:
        """Compile the back-projection (numba) on a tiny slice, so the first preview is not late."""
        p = SectorPreview(8, 3.5, math.pi / 4, filter, 1)
        p.add(np.ones((2, 8), np.float32), np.array([0.0, math.pi / 4]))

    def run(self, cancel: Callable[[], bool] | None = None) -> LiveStatus:
        """Step until the scan ends or ``cancel()`` / :meth:`cancel`; returns the last status."""
        try:
            self.warm_up(self.filter)
            while not self._cancel.is_set() and not (cancel is not None and cancel()):
                if not self.step():
                    break
                if self.source.state != COMPLETE:
                    time.sleep(self.poll_interval)
            if self._centre_job is not None:
                self._centre_job.join()
                self._take_centre()
            while self.preview is not None and self.preview.rebuilding:
                self._rebuild_step()
            self._publish(time.time(), final=True)  # the end: the last image, with the centre found
        except BaseException as exc:
            self.error = exc
            self.status.state, self.status.message = FAILED, str(exc)
            if self.on_update is not None:
                self.on_update(self.status)
            raise
        finally:
            self.source.close()
        return self.status

    def cancel(self) -> None:
        """Stop following (from any thread); what was received is kept."""
        self._cancel.set()

    def start(self) -> threading.Thread:
        """Run :meth:`run` on a daemon thread (errors are kept in ``error`` and the status)."""

        def target() -> None:
            try:
                self.run()
            except BaseException:  # reported through the status and self.error
                pass

        self._thread = threading.Thread(target=target, name="daisy-live", daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def stalled(self) -> bool:
        return self.status.state == STALLED

    # ------------------------------------------------------------------ final
    def final_slices(
        self, center: float | str | None = None, algorithm: str = "fbp", filter: str | None = None
    ) -> tuple[np.ndarray, float]:
        """Slices of every kept row from the received angles, float32 (rows, N, N), and the centre used.

        ``center`` default: the live estimate (or the option given). Uses
        :func:`~daisy_widgets.tomography.recon.reconstruct` as the offline chain does.
        """
        from ..recon import reconstruct

        s = self.sinos
        if s is None or s.n < 2:
            raise LiveScanError(
                self.source.info.address, f"{0 if s is None else s.n} projection(s) received; need 2"
            )
        if center is None:
            center = self.status.center if self.status.center is not None else self.center_option
        if isinstance(center, str) and center != "auto":
            center = None
        if center == "auto":
            from ..center import find_center

            center = find_center(s.sinograms(), np.deg2rad(s.theta_deg))
        out = reconstruct(s.sinograms(), np.deg2rad(s.theta_deg), center, algorithm, filter or self.filter)
        return out, float(center if center is not None else (s.frame_shape[1] - 1) / 2.0)
