"""Follow a Data Exchange HDF5 file that a detector writer is still writing (SWMR).

The file is opened once with ``swmr=True``; each :meth:`SwmrFileSource.poll` refreshes the
counters and datasets (``h5py``'s ``Dataset.refresh``) and reads the frames that are
complete: ``/exchange/frames_written`` (darks, flats, projections) when the writer keeps
it (:mod:`daisy_widgets.tomography.io.swmr_writer`), else the length of ``theta`` for
projections and of the datasets for flats and darks. ``/exchange/scan_complete`` says
when the scan ends; a scan with no new frame for ``stall_timeout`` seconds is *stalled*
(the writer died or hangs): the follower says so and keeps what it has.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import InputFileError
from .frames import (
    ACQUIRING,
    COMPLETE,
    FAILED,
    STALLED,
    STOPPED,
    WAITING,
    FrameBlock,
    LiveScanError,
    SourceInfo,
)

_DATASETS = (
    ("dark", "/exchange/data_dark"),
    ("flat", "/exchange/data_white"),
    ("projection", "/exchange/data"),
)
_HELD = "a file held open for writing by a program that did not enable SWMR"
_NOT_SWMR = (
    "a file written in SWMR mode (h5py: File(path, 'w', libver='latest'), then f.swmr_mode = True), "
    "or a closed file"
)


def open_swmr(path: str | os.PathLike) -> Any:
    """Open ``path`` for SWMR reading, or raise :class:`InputFileError` saying why not."""
    import h5py

    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "", "an HDF5 file being written (SWMR)", "no such file")
    try:
        return h5py.File(p, "r", swmr=True, libver="latest")
    except OSError as exc:
        text = str(exc)
        if "unable to lock file" in text or "already open for write" in text:
            raise InputFileError(p, "", _NOT_SWMR, _HELD) from None
        raise InputFileError(p, "", "a readable HDF5 file", text.split("(")[0].strip()) from None


class SwmrFileSource:
    """Frames of a growing Data Exchange file, read as the writer flushes them.

    Parameters
    ----------
    path
        The HDF5 file (Data Exchange layout).
    rows
        Detector rows to read (a slice; default all).
    stall_timeout
        Seconds without a new frame after which a scan that is not complete is *stalled*.
    max_block
        Most frames of one kind read per poll (bounds the time of one poll).
    wait
        Seconds to wait for the file to appear (the writer may start after the follower).

    Attributes
    ----------
    state : ``waiting``, ``acquiring``, ``complete``, ``stopped``, ``stalled`` or ``failed``
    message : what happened, in words (for the progress line and the app)
    counts : frames handed over so far per kind
    """

    def __init__(
        self,
        path: str | os.PathLike,
        rows: slice | None = None,
        stall_timeout: float = 10.0,
        max_block: int = 256,
        wait: float = 0.0,
    ):
        self.path = str(Path(path).resolve())
        self.rows = rows if rows is not None else slice(None)
        self.stall_timeout = float(stall_timeout)
        self.max_block = int(max_block)
        self.state, self.message = WAITING, "opening"
        self.counts = {"dark": 0, "flat": 0, "projection": 0}
        self._f: Any = None
        self._error: LiveScanError | None = None
        self._last_new = time.monotonic()
        self.info = SourceInfo(self.path)
        deadline = time.monotonic() + float(wait)
        while True:
            try:
                self._open()
                break
            except InputFileError as exc:
                # the writer has not created the file, or not switched SWMR on yet: wait a little
                if time.monotonic() >= deadline or exc.found not in ("no such file", _HELD):
                    raise
                time.sleep(0.05)

    # ------------------------------------------------------------------ open
    def _open(self) -> None:
        f = open_swmr(self.path)
        self._f = f
        if "/exchange/data" not in f:
            f.close()
            raise InputFileError(
                self.path, "/exchange/data", "a Data Exchange scan (frames, rows, columns)", "missing"
            )
        data = f["/exchange/data"]
        if data.ndim != 3:
            raise InputFileError(
                self.path, "/exchange/data", "3-D frames (frames, rows, columns)", f"shape {data.shape}"
            )
        attrs = f["/exchange"].attrs
        self.info = SourceInfo(
            self.path,
            frame_shape=tuple(int(s) for s in data.shape[1:]),
            frames_expected=_int(attrs.get("frames_expected")),
            flats_expected=_int(attrs.get("flats_expected")),
            darks_expected=_int(attrs.get("darks_expected")),
            angle_range=float(attrs["angle_range"]) if "angle_range" in attrs else None,
        )
        self._counter = f.get("/exchange/frames_written")
        self._flag = f.get("/exchange/scan_complete")
        self._growing = data.maxshape[0] is None
        self.state, self.message = ACQUIRING, "following"

    def _available(self) -> dict[str, int]:
        f = self._f
        if self._counter is not None:
            self._counter.refresh()
            c = np.asarray(self._counter[()]).ravel()
            return {"dark": int(c[0]), "flat": int(c[1]), "projection": int(c[2])}
        out = {}
        for kind, name in _DATASETS:
            ds = f.get(name)
            if ds is not None:
                ds.refresh()
            out[kind] = 0 if ds is None else int(ds.shape[0])
        th = f["/exchange/theta"]
        th.refresh()
        out["projection"] = min(out["projection"], int(th.shape[0]))
        return out

    # ------------------------------------------------------------------ poll
    def poll(self) -> list[FrameBlock]:
        """Blocks of the frames flushed since the last call, darks, flats, then projections."""
        if self._error is not None:
            self.state = FAILED
            raise self._error
        if self.state in (COMPLETE, STOPPED, FAILED):
            return []
        flag = None
        if self._flag is not None:
            self._flag.refresh()
            flag = int(np.asarray(self._flag[()]).ravel()[0])
        avail = self._available()
        blocks: list[FrameBlock] = []
        now = time.time()
        for kind, name in _DATASETS:
            done, n = self.counts[kind], avail[kind]
            if n <= done:
                continue
            ds = self._f[name]
            ds.refresh()
            if tuple(ds.shape[1:]) != self.info.frame_shape:
                self.message = (
                    f"{name}: frames changed shape from {self.info.frame_shape} to {tuple(ds.shape[1:])} "
                    f"after {self.counts['projection']} projection(s); the {sum(self.counts.values())} "
                    "frame(s) received are kept"
                )
                self._error = LiveScanError(self.path, self.message, sum(self.counts.values()))
                if not blocks:
                    self.state = FAILED
                    raise self._error
                return blocks  # hand the good frames over first; raise on the next poll
            n = min(n, done + self.max_block, int(ds.shape[0]))
            frames = np.asarray(ds[done:n, self.rows, :])
            theta = written = None
            if kind == "projection":
                th = self._f["/exchange/theta"]
                th.refresh()
                theta = np.asarray(th[done:n], np.float64)
                if "/exchange/frame_time" in self._f:
                    ft = self._f["/exchange/frame_time"]
                    ft.refresh()
                    written = np.asarray(ft[done:n], np.float64)
            blocks.append(FrameBlock(kind, done, frames, theta, written, now))
            self.counts[kind] = n
        complete_counts = all(self.counts[k] >= avail[k] for k in self.counts)
        if blocks:
            self._last_new = time.monotonic()
            self.state, self.message = ACQUIRING, "acquiring"
        if flag == 1 and complete_counts:
            self.state, self.message = COMPLETE, f"scan complete: {self.counts['projection']} projections"
        elif flag == 2 and complete_counts:
            self.state = STOPPED
            self.message = f"the writer stopped the scan after {self.counts['projection']} projection(s)"
        elif flag is None and not self._growing and complete_counts:
            self.state, self.message = COMPLETE, f"closed file: {self.counts['projection']} projections"
        elif not blocks and time.monotonic() - self._last_new > self.stall_timeout:
            self.state = STALLED
            exp = self.info.frames_expected
            self.message = (
                f"stalled: no new frame for {self.stall_timeout:g} s after {self.counts['projection']} "
                f"projection(s){f' of {exp}' if exp else ''}; the writer may have stopped. "
                "The frames received are kept"
            )
        return blocks

    def close(self) -> None:
        """Close the file."""
        if self._f is not None:
            try:
                self._f.close()
            finally:
                self._f = None


def _int(v: Any) -> int | None:
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None
