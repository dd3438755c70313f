"""Whole volumes file to file at the kernels' speed: reading, computing and writing overlapped.

The standard chain (:func:`~daisy_widgets.tomography.pipeline.build_workflow`) is run on
one block of detector rows at a time while a reader thread reads the next blocks and a
writer thread stores the previous results in the output file, each handing over through
a queue of at most :data:`QUEUE_BLOCKS` blocks. Memory stays near a few blocks whatever the
size of the volume, and the cores spend their time reconstructing (the compiled kernels
and the FFTs release the GIL; reading and writing wait on the disk).

Only chains whose every step works row by row are streamed: normalise, minus-log, stripe
removal and reconstruction. Zinger removal and phase retrieval filter across rows, and
motion alignment uses all rows, so :func:`stream_reason` sends those to the workflow
engine instead (:func:`~daisy_widgets.tomography.pipeline.run_reconstruction` decides).
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.errors import Cancelled

#: blocks waiting between the reader and the computation, and between it and the writer (reading
#: and writing are much faster than reconstructing: one block ahead keeps the cores busy)
QUEUE_BLOCKS = 1
_DONE = object()


def stream_reason(opts: Any, engine: str | None, scheduler: Any, output_format: str) -> str | None:
    """Why the chain cannot be streamed block by block (None: it can)."""
    if scheduler or (engine not in (None, "inprocess", "in-process", "local")):
        return "a Dask engine was asked for"
    if output_format != "hdf5":
        return f"output format {output_format!r} (streamed: hdf5)"
    if opts.zingers or opts.phase:
        return "zinger removal and phase retrieval filter across detector rows"
    if opts.align:
        return "motion alignment uses all rows at once"
    return None


@dataclasses.dataclass
class StreamStats:
    """What a streamed run moved and how fast (seconds are wall-clock)."""

    slices: int = 0
    blocks: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    read_seconds: float = 0.0
    compute_seconds: float = 0.0
    write_seconds: float = 0.0
    peak_queued_bytes: int = 0

    def rates(self) -> dict[str, float]:
        """MB/s read and written (10^6 bytes) and slices per second over the whole run."""
        s = max(self.seconds, 1e-9)
        return {
            "read_MB_s": self.bytes_read / 1e6 / s,
            "written_MB_s": self.bytes_written / 1e6 / s,
            "slices_s": self.slices / s,
        }


def _block_store(block: dict[str, np.ndarray], theta_deg: np.ndarray, rows: int, width: int) -> Any:
    from ..core.datastore import DataStore

    store = DataStore()
    store["raw/projections"] = block["projections"]
    store["raw/flats"] = block["flats"]
    store["raw/darks"] = block.get("darks", np.zeros((1, rows, width), np.float32))
    if "flats_after" in block:
        store["raw/flats_after"] = block["flats_after"]
    store["raw/theta"] = theta_deg
    return store


def _wire_flats_after(wf: Any, scan: Any) -> Any:
    if scan.flats_after is not None:  # flats before and after: interpolated per projection
        wf.steps[0].inputs["flats_after"] = "raw/flats_after"
    return wf


def run_block(wf: Any, scan: Any, block: dict[str, np.ndarray], cancel: Any = None) -> Any:
    """Run the chain ``wf`` (over ``raw/*`` keys) on one block of rows as :meth:`Scan.block` returns it.

    Returns the result :class:`~daisy_widgets.core.datastore.DataStore` (``out/recon``, ``out/center``).
    """
    from ..core.engine import run_workflow

    _, nr, width = block["projections"].shape
    store = _block_store(block, np.asarray(scan.theta, np.float64), nr, width)
    return run_workflow(_wire_flats_after(wf, scan), store, engine="inprocess", cancel=cancel)


def resolve_center(scan: Any, rows: slice, center: Any, wf: Any, cancel: Any = None) -> float:
    """The rotation axis (px) the chain will use: ``center`` if a number, the detector middle if
    None, else (``"auto"``) the one the chain ``wf`` (with its centre step) finds on the middle
    row of ``rows``, which is the row the workflow's centre step uses on the whole selection."""
    width = scan.shape[2]
    if isinstance(center, (int, float)):
        return float(center)
    if center is None:
        return (width - 1) / 2.0
    mid = rows.start + (rows.stop - rows.start) // 2
    result = run_block(wf, scan, scan.block(slice(mid, mid + 1)), cancel)
    return float(result["out/center"])


def counts_bytes(scan: Any, nrows: int) -> int:
    """Bytes of counts (projections, flats, darks, as stored in the file) read for ``nrows`` detector rows."""
    total = 0
    for name in ("projections", "flats", "darks", "flats_after"):
        arr = getattr(scan, name, None)
        if arr is not None:
            total += arr.shape[0] * nrows * arr.shape[2] * np.dtype(arr.dtype).itemsize
    return total


class _Stage(threading.Thread):
    """A daemon thread running ``body``; an exception is kept for the caller and stops the run."""

    def __init__(self, name: str, body: Callable[[], None], stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.body, self.stop, self.error = body, stop, None
        self.result: Any = None  # what ``body`` left here (the checksum stage: the provenance)

    def run(self) -> None:
        try:
            self.body()
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
            self.stop.set()


def _checksum_stage(provenance: Any, stop: threading.Event, cancel: Any) -> _Stage | None:
    """The thread computing ``provenance`` (a function) beside the stream; None for a ready dict."""
    if not callable(provenance):
        return None

    def stopped() -> bool:
        return stop.is_set() or (cancel is not None and bool(cancel.cancelled))

    def body() -> None:
        stage.result = provenance(stopped)

    stage = _Stage("daisy-stream-checksum", body, stop)
    return stage  # ``body`` refers to it


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event) -> Any:
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return _DONE


def stream_reconstruction(
    scan: Any,
    rows: slice,
    wf: Any,
    output: str | os.PathLike,
    *,
    block: int,
    params: dict[str, Any] | None = None,
    provenance: dict[str, Any] | Callable[[Callable[[], bool]], dict[str, Any]] | None = None,
    input_path: str | os.PathLike | None = None,
    progress: Callable | None = None,
    cancel: Any = None,
) -> StreamStats:
    """Reconstruct detector ``rows`` of ``scan`` into the Data Exchange file ``output``, block by block.

    Parameters
    ----------
    scan
        The :class:`~daisy_widgets.tomography.io.Scan` (read lazily).
    rows
        Detector rows to reconstruct (one slice each).
    wf
        The chain as a workflow over ``raw/{projections,flats,darks,theta}`` -> ``out/recon``,
        with a numeric centre and only row-by-row steps (see :func:`stream_reason`).
    output
        HDF5 file written atomically (nothing is left at ``output`` on error or cancellation).
    block
        Rows per block.
    params, provenance, input_path
        Stored in the file as :func:`~daisy_widgets.tomography.io.write_recon` does. ``provenance``
        may be a function ``provenance(stopped) -> dict`` (the input's checksum pass,
        :func:`~daisy_widgets.tomography.io.scan_provenance`): it then runs in a thread beside the
        reconstruction instead of before it (``stopped()`` turns true when the run stops), and an
        error it raises (NaN/inf in the input) stops the run with nothing written.
    progress
        Called with a :class:`~daisy_widgets.core.progress.ProgressEvent` after each block is written.
    cancel
        :class:`~daisy_widgets.core.progress.CancelToken`: checked between blocks and inside the chain.

    Returns
    -------
    :class:`StreamStats`
    """
    from ..core.engine import run_workflow
    from ..core.progress import ProgressEvent, estimate_eta
    from .io import recon_writer

    _, _, width = scan.shape
    per = max(1, int(block))
    starts = list(range(rows.start, rows.stop, per))
    theta = np.asarray(scan.theta, np.float64)
    wf = _wire_flats_after(wf, scan)
    stats = StreamStats(slices=rows.stop - rows.start, blocks=len(starts))
    stop = threading.Event()
    q_in: queue.Queue = queue.Queue(maxsize=QUEUE_BLOCKS)
    q_out: queue.Queue = queue.Queue(maxsize=QUEUE_BLOCKS)
    queued = {"bytes": 0}
    lock = threading.Lock()

    def account(delta: int) -> None:
        with lock:
            queued["bytes"] += delta
            stats.peak_queued_bytes = max(stats.peak_queued_bytes, queued["bytes"])

    def read() -> None:
        for a in starts:
            b = min(a + per, rows.stop)
            t = time.perf_counter()
            data = scan.block(slice(a, b))
            stats.read_seconds += time.perf_counter() - t
            stats.bytes_read += counts_bytes(scan, b - a)
            nbytes = sum(v.nbytes for v in data.values())
            account(nbytes)
            if not _put(q_in, (a, data, nbytes), stop):
                return
        _put(q_in, _DONE, stop)

    t0 = time.perf_counter()
    done = 0
    with recon_writer(
        output, (stats.slices, width, width), params=params, input_path=input_path, first_slice=rows.start
    ) as writer:

        def write() -> None:
            while True:
                item = _get(q_out, stop)
                if item is _DONE:
                    return
                a, rec = item
                t = time.perf_counter()
                writer.write(a - rows.start, rec)
                stats.write_seconds += time.perf_counter() - t
                account(-rec.nbytes)
                nonlocal done
                done += 1
                if progress is not None:
                    el = time.perf_counter() - t0
                    progress(
                        ProgressEvent(
                            workflow=wf.name,
                            step="stream",
                            step_index=0,
                            n_steps=1,
                            chunks_done=done,
                            chunks_total=len(starts),
                            fraction=done / len(starts),
                            elapsed=el,
                            eta=estimate_eta(done / len(starts), el),
                            message=f"rows {a}:{a + len(rec)} written",
                        )
                    )

        reader = _Stage("daisy-stream-read", read, stop)
        writer_t = _Stage("daisy-stream-write", write, stop)
        stages = [reader, writer_t]
        checksum = _checksum_stage(provenance, stop, cancel)
        if checksum is not None:
            stages.append(checksum)
        for stage in stages:
            stage.start()
        try:
            while True:
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("cancelled by the user")
                item = _get(q_in, stop)
                if item is _DONE:
                    break
                a, data, nbytes = item
                t = time.perf_counter()
                _, nr, _ = data["projections"].shape
                result = run_workflow(
                    wf, _block_store(data, theta, nr, width), engine="inprocess", cancel=cancel
                )
                rec = np.ascontiguousarray(np.asarray(result["out/recon"], np.float32))
                stats.compute_seconds += time.perf_counter() - t
                del data, result
                account(rec.nbytes - nbytes)
                if not _put(q_out, (a, rec), stop):
                    break
            _put(q_out, _DONE, stop)
            writer_t.join()
            if checksum is not None:
                checksum.join()
        except BaseException:
            stop.set()
            raise
        finally:
            stop.set()
            for stage in stages:
                stage.join()
        # the first error, one that stopped the run before the others it caused (Cancelled)
        errors = [s.error for s in stages if s.error is not None]
        if errors:
            raise sorted(errors, key=lambda e: isinstance(e, Cancelled))[0]
        writer.provenance = checksum.result if checksum is not None else provenance
        stats.bytes_written = writer.bytes_written
    stats.seconds = time.perf_counter() - t0
    return stats
