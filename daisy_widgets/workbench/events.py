"""The workbench's log: every run's progress events, step logs, warnings and errors, with time and step.

:class:`EventLog` is a model (no widgets): the algorithm toolbox and the workflow
builder write to it (:meth:`EventLog.progress` is a progress callback that turns
engine events into log lines: step started, step finished, retries, fallbacks);
the log panel shows it. :func:`cluster_state` and :func:`gpu_state` say what the
computing resources are right now (the Dask cluster's workers and memory, the GPU).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.progress import ProgressEvent, format_seconds

LEVELS = ("info", "progress", "warning", "error")


@dataclass(frozen=True)
class LogEntry:
    """One line of the log: wall-clock ``time`` (s since the epoch), ``level``, ``run`` label, ``step``, ``message``."""

    time: float
    level: str
    run: str
    step: str
    message: str

    @property
    def text(self) -> str:
        """``21:40:03 [error] run 2 core.scale/scale: message``."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self.time))
        where = "/".join(x for x in (self.run, self.step) if x)
        return (
            f"{stamp} [{self.level}] {where}: {self.message}"
            if where
            else f"{stamp} [{self.level}] {self.message}"
        )


class EventLog:
    """The session's log (thread-safe: runs write to it from their threads).

    Parameters
    ----------
    limit
        Most entries kept (the oldest go first).
    """

    def __init__(self, limit: int = 2000):
        self.entries: list[LogEntry] = []
        self.limit = limit
        self._lock = threading.Lock()
        self._listeners: list[Callable[[LogEntry], None]] = []

    def on_entry(self, callback: Callable[[LogEntry], None]) -> None:
        """Call ``callback(entry)`` for every new entry."""
        self._listeners.append(callback)

    def add(self, level: str, message: str, run: str = "", step: str = "") -> LogEntry:
        """Append an entry (``level`` one of :data:`LEVELS`)."""
        if level not in LEVELS:
            raise ValueError(f"log level {level!r}: expected one of {', '.join(LEVELS)}")
        entry = LogEntry(time.time(), level, run, step, message)
        with self._lock:
            self.entries.append(entry)
            del self.entries[: max(0, len(self.entries) - self.limit)]
        for cb in list(self._listeners):
            cb(entry)
        return entry

    def info(self, message: str, run: str = "", step: str = "") -> LogEntry:
        return self.add("info", message, run, step)

    def warning(self, message: str, run: str = "", step: str = "") -> LogEntry:
        return self.add("warning", message, run, step)

    def error(self, message: str, run: str = "", step: str = "") -> LogEntry:
        return self.add("error", message, run, step)

    def progress(self, run: str) -> Callable[[ProgressEvent], None]:
        """A progress callback for ``run``: logs each step's start and end and every event (retry, skip, ...)."""

        started: set[tuple[int, str]] = set()
        finished: list[bool] = []

        def callback(ev: ProgressEvent) -> None:
            if ev.event:
                level = "warning" if ev.event in ("retry", "fallback", "skip") else "progress"
                self.add(level, f"{ev.event}: {ev.message}", run, ev.step)
            if finished:
                return
            if ev.step and (ev.step_index, ev.step) not in started:
                started.add((ev.step_index, ev.step))
                self.add("progress", f"step {ev.step_index + 1}/{ev.n_steps} started", run, ev.step)
            if ev.fraction >= 1.0:
                finished.append(True)
                self.add("progress", f"finished in {format_seconds(ev.elapsed)}", run)

        return callback

    def text(self, last: int | None = None) -> str:
        """The log as text, one entry a line (the ``last`` ones only if given)."""
        with self._lock:
            rows = self.entries[-last:] if last else list(self.entries)
        return "\n".join(e.text for e in rows)


def gpu_state() -> str:
    """The GPU as the kernels see it: ``"NVIDIA H200, 139.8 GiB (CuPy 13.3)"``, or why there is none."""
    from ..apps_index import probe_resources

    try:
        res = probe_resources()
    except Exception as exc:  # a probe must never break the panel
        return f"unknown ({type(exc).__name__}: {exc})"
    return res.gpu_detail


def cluster_state(engine: Any = None) -> str:
    """The Dask cluster: workers, threads and memory of the engine's client when one is running,
    else what the index says about the configured or on-demand cluster."""
    client = getattr(engine, "_client", None) if engine is not None else None
    if client is not None:
        try:
            workers = client.scheduler_info().get("workers", {})
            threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
            memory = sum(float(w.get("memory_limit", 0) or 0) for w in workers.values())
            used = sum(float((w.get("metrics") or {}).get("memory", 0) or 0) for w in workers.values())
            return (
                f"{client.scheduler.address}: {len(workers)} workers, {threads} threads, "
                f"{used / 2**30:.2f} of {memory / 2**30:.1f} GiB memory in use"
            )
        except Exception as exc:
            return f"cluster not answering ({type(exc).__name__}: {exc})"
    from ..apps_index import probe_resources

    try:
        return probe_resources().dask_detail
    except Exception as exc:
        return f"unknown ({type(exc).__name__}: {exc})"
