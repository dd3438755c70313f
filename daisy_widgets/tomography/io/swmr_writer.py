"""A scan that grows: Data Exchange HDF5 written frame by frame in SWMR mode.

The file stands in for a detector's HDF5 writer (the demo's and the tests' detector):

* ``/exchange/data_dark``, ``/exchange/data_white``, ``/exchange/data`` (frames, rows,
  columns) are created empty, chunked one frame per chunk, and extended along the frame
  axis as frames come (darks first, then flats, then projections);
* ``/exchange/theta`` (degrees) grows with the projections; ``/exchange/frame_time``
  (seconds since the epoch, when each projection was flushed) grows with them;
* ``/exchange/frames_written`` (3,) int64 = (darks, flats, projections) counts frames
  flushed so far, written *after* the frames: a reader that reads it first never reads a
  frame that is not complete;
* ``/exchange/scan_complete`` (1,) uint8: 0 while acquiring, 1 when the scan is complete,
  2 when the writer stopped before the end (cancelled);
* ``/exchange`` attributes ``frames_expected``, ``flats_expected``, ``darks_expected``,
  ``angle_range`` (degrees) are written before SWMR starts.

After :meth:`SwmrScanWriter.finish` the file is an ordinary Data Exchange file that
:func:`~daisy_widgets.tomography.io.read_scan` and ``daisy tomo recon`` read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import InputFileError, ValidationError

#: values of ``/exchange/scan_complete``
ACQUIRING, COMPLETE, ABORTED = 0, 1, 2
COUNTER = "/exchange/frames_written"
COMPLETE_FLAG = "/exchange/scan_complete"
FRAME_TIME = "/exchange/frame_time"
KINDS = ("dark", "flat", "projection")
_DATASETS = {"dark": "data_dark", "flat": "data_white", "projection": "data"}


class SwmrScanWriter:
    """Write a Data Exchange scan frame by frame, readable by SWMR readers while it grows.

    Parameters
    ----------
    path
        New HDF5 file; an existing file is refused unless ``overwrite``.
    frame_shape
        (rows, columns) of every frame.
    frames_expected, flats_expected, darks_expected
        Numbers of projections, flats and darks the scan will have (stored as attributes).
    angle_range
        Degrees covered by the projections (180 or 360).
    dtype
        Frame type (detector counts: uint16).
    metadata
        ``sample_name``, ``energy`` (keV), ``pixel_size`` (m), ``title``: written before SWMR starts.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        frame_shape: tuple[int, int],
        frames_expected: int,
        flats_expected: int = 0,
        darks_expected: int = 0,
        *,
        angle_range: float = 180.0,
        dtype: Any = np.uint16,
        metadata: dict[str, Any] | None = None,
        attrs: dict[str, Any] | None = None,
        overwrite: bool = False,
    ):
        import h5py

        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise InputFileError(
                self.path, "", "a new file (give --overwrite to replace it)", "an existing file"
            )
        self.frame_shape = tuple(int(s) for s in frame_shape)
        self.dtype = np.dtype(dtype)
        self.counts = {k: 0 for k in KINDS}
        self.expected = {
            "projection": int(frames_expected),
            "flat": int(flats_expected),
            "dark": int(darks_expected),
        }
        f = h5py.File(self.path, "w", libver="latest")
        self._file = f
        f.attrs["implements"] = "exchange:measurement"
        ex = f.create_group("exchange")
        nr, nc = self.frame_shape
        self._ds = {}
        for kind, name in _DATASETS.items():
            self._ds[kind] = ex.create_dataset(
                name, shape=(0, nr, nc), maxshape=(None, nr, nc), chunks=(1, nr, nc), dtype=self.dtype
            )
        self._theta = ex.create_dataset("theta", shape=(0,), maxshape=(None,), chunks=(256,), dtype="f8")
        self._theta.attrs["units"] = "degrees"
        self._time = ex.create_dataset("frame_time", shape=(0,), maxshape=(None,), chunks=(256,), dtype="f8")
        self._time.attrs["units"] = "s since 1970-01-01 UTC (when the projection was flushed)"
        self._counter = ex.create_dataset(
            "frames_written", data=np.zeros(3, np.int64), chunks=(3,), maxshape=(3,)
        )
        self._counter.attrs["meaning"] = "darks, flats, projections flushed so far"
        self._flag = ex.create_dataset(
            "scan_complete", data=np.zeros(1, np.uint8), chunks=(1,), maxshape=(1,)
        )
        self._flag.attrs["meaning"] = "0 acquiring, 1 complete, 2 stopped before the end"
        ex.attrs.update(
            frames_expected=int(frames_expected),
            flats_expected=int(flats_expected),
            darks_expected=int(darks_expected),
            angle_range=float(angle_range),
        )
        for k, v in (attrs or {}).items():
            ex.attrs[k] = v
        meta = metadata or {}
        if "title" in meta:
            ex.create_dataset("title", data=str(meta["title"]))
        if "sample_name" in meta:
            f.create_dataset("measurement/sample/name", data=str(meta["sample_name"]))
        for key, name, unit in (
            ("energy", "measurement/instrument/monochromator/energy", "keV"),
            ("pixel_size", "measurement/instrument/detector/pixel_size_x", "m"),
        ):
            if key in meta:
                f.create_dataset(name, data=float(meta[key])).attrs["units"] = unit
        f.swmr_mode = True  # from here on: no new objects, readers may open the file

    # ------------------------------------------------------------------ frames
    def write(self, kind: str, frame: np.ndarray, theta_deg: float | None = None) -> None:
        """Append one frame of ``kind`` (``"dark"``, ``"flat"``, ``"projection"``) and flush it.

        A projection needs its angle ``theta_deg`` (degrees). The frame is flushed
        before the counters, so a reader never sees a frame that is counted but torn.
        """
        if kind not in KINDS:
            raise ValidationError(
                "SwmrScanWriter.write", {"kind": [f"expected one of {KINDS}; got {kind!r}"]}
            )
        frame = np.asarray(frame)
        if frame.shape != self.frame_shape:
            raise ValidationError(
                f"SwmrScanWriter {self.path}",
                {"frame": [f"expected a frame of shape {self.frame_shape}; got {frame.shape}"]},
            )
        if kind == "projection" and theta_deg is None:
            raise ValidationError(
                f"SwmrScanWriter {self.path}", {"theta_deg": ["a projection needs its angle"]}
            )
        ds, k = self._ds[kind], self.counts[kind]
        ds.resize(k + 1, axis=0)
        ds[k] = frame.astype(self.dtype, copy=False)
        ds.flush()
        if kind == "projection":
            self._theta.resize((k + 1,))
            self._theta[k] = float(theta_deg)
            self._theta.flush()
            self._time.resize((k + 1,))
            self._time[k] = time.time()
            self._time.flush()
        self.counts[kind] = k + 1
        self._counter[:] = [self.counts["dark"], self.counts["flat"], self.counts["projection"]]
        self._counter.flush()

    def finish(self, state: int = COMPLETE) -> Path:
        """Set ``scan_complete`` (1 complete, 2 stopped) and close the file."""
        if self._file is not None:
            self._flag[0] = state
            self._flag.flush()
            self._file.close()
            self._file = None
        return self.path

    def close(self) -> None:
        """Close without marking the scan complete (as a writer that dies leaves it)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> SwmrScanWriter:
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        self.finish(COMPLETE if exc_type is None else ABORTED)


class PhantomDetector:
    """Frames of the 3-D Shepp-Logan phantom, one at a time, as a detector would give them.

    Every frame is computed on demand (exact line integrals, Poisson noise seeded per
    frame), so a writer can stream a scan of any length without holding it in memory.

    Parameters
    ----------
    width, rows
        Detector columns and rows (the rows are a slab through the phantom's middle).
    angles, angle_range
        Projections over ``angle_range`` degrees (no end point).
    center_offset
        Rotation axis offset from the detector middle (px).
    flux
        Photons per pixel in the flat field (0: no noise).
    """

    def __init__(
        self,
        width: int = 256,
        rows: int = 4,
        angles: int = 180,
        angle_range: float = 180.0,
        *,
        center_offset: float = 0.0,
        flux: float = 20000.0,
        dark_level: float = 100.0,
        seed: int = 0,
    ):
        self.width, self.rows, self.angles = int(width), int(rows), int(angles)
        self.theta_deg = np.linspace(0.0, angle_range, self.angles, endpoint=False)
        self.center = (self.width - 1) / 2.0 + center_offset
        self.mu = 2.0 / self.width
        self.flux, self.dark_level, self.seed = float(flux), float(dark_level), int(seed)
        height = self.width  # the phantom's height: rows are a slab through the middle
        self.detector_rows = np.arange(self.rows) + (height - self.rows) // 2
        self.height = height
        self.flat_field = (self.flux or 20000.0) * (
            1.0 + 0.05 * np.sin(np.linspace(0, 3 * np.pi, self.width))[None, :] * np.ones((self.rows, 1))
        )

    def _rng(self, kind: str, k: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, KINDS.index(kind), k])

    def frame(self, kind: str, k: int) -> np.ndarray:
        """Frame ``k`` of ``kind``, uint16 (rows, width) counts."""
        from ..phantom import project_phantom

        if kind == "dark":
            rng = self._rng(kind, k)
            f = (
                rng.poisson(self.dark_level, (self.rows, self.width))
                if self.flux
                else np.full((self.rows, self.width), self.dark_level)
            )
        elif kind == "flat":
            f = self._rng(kind, k).poisson(self.flat_field) if self.flux else self.flat_field
            f = f + self.dark_level
        else:
            li = project_phantom(
                self.width,
                np.deg2rad(self.theta_deg[k : k + 1]),
                rows=self.detector_rows,
                height=self.height,
                center=self.center,
                mu_max=self.mu,
            )[:, 0, :]  # (rows, width)
            expected = self.flat_field * np.exp(-li)
            f = (self._rng(kind, k).poisson(expected) if self.flux else expected) + self.dark_level
        return np.clip(np.rint(f), 0, 65535).astype(np.uint16)

    def phantom(self, row: int = 0) -> np.ndarray:
        """Ground truth of detector row ``row`` of the slab, float32 (width, width)."""
        from ..phantom import phantom_slices

        return phantom_slices(self.width, [int(self.detector_rows[row])], self.height, self.mu)[0]


def acquire_phantom_scan(
    path: str | os.PathLike,
    detector: PhantomDetector,
    flats: int = 10,
    darks: int = 5,
    rate: float = 20.0,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    overwrite: bool = False,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Write a phantom scan frame by frame at ``rate`` frames per second (darks, flats, projections).

    ``progress(kind, done, total)`` after each frame; ``cancel()`` true stops the scan
    (marked ``scan_complete = 2``); ``stop_after`` projections: the writer closes the
    file without marking it complete, as a writer that dies would (tests of faults).
    Returns ``{"path", "frames", "state", "seconds"}``.
    """
    t0 = time.monotonic()
    period = 1.0 / rate if rate and rate > 0 else 0.0
    writer = SwmrScanWriter(
        path,
        (detector.rows, detector.width),
        detector.angles,
        flats,
        darks,
        angle_range=float(detector.theta_deg[-1] + (detector.theta_deg[1] - detector.theta_deg[0]))
        if detector.angles > 1
        else 180.0,
        metadata={
            "sample_name": "Shepp-Logan 3D phantom",
            "energy": 25.0,
            "pixel_size": 1.0e-6,
            "title": f"daisy live phantom scan {detector.width}x{detector.rows}, {detector.angles} angles",
        },
        attrs={"true_center": detector.center, "mu_max": detector.mu, "seed": detector.seed},
        overwrite=overwrite,
    )
    n = 0
    state = COMPLETE
    plan = [("dark", darks), ("flat", flats), ("projection", detector.angles)]
    try:
        for kind, total in plan:
            for k in range(total):
                if cancel is not None and cancel():
                    state = ABORTED
                    raise _Stop
                if kind == "projection" and stop_after is not None and k >= stop_after:
                    writer.close()
                    return {
                        "path": str(writer.path),
                        "frames": n,
                        "state": "died",
                        "seconds": time.monotonic() - t0,
                    }
                frame = detector.frame(kind, k)
                wait = t0 + n * period - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                writer.write(kind, frame, detector.theta_deg[k] if kind == "projection" else None)
                n += 1
                if progress is not None:
                    progress(kind, k + 1, total)
    except _Stop:
        pass
    except BaseException:
        writer.finish(ABORTED)
        raise
    writer.finish(state)
    return {
        "path": str(writer.path),
        "frames": n,
        "state": "complete" if state == COMPLETE else "stopped",
        "seconds": time.monotonic() - t0,
    }


class _Stop(Exception):
    pass
