"""Engines that run a :class:`~daisy_widgets.core.workflow.Workflow` over a :class:`DataStore`.

* :class:`InProcessEngine` (:mod:`.engine_inprocess`) runs every step in this process, one
  after another (chunk by chunk for data-parallel steps, so progress and cancellation are
  fine-grained).
* :class:`DaskEngine` (:mod:`.engine_dask`) runs on a Dask cluster: a
  ``distributed.LocalCluster`` by default, or any scheduler address (dask-gateway, the Dask
  Kubernetes operator). Data-parallel steps (``Algorithm.split``) are mapped over chunks on
  the workers (:mod:`.dask_tasks`, handed out by the work queue in :mod:`.dask_queue`); step
  outputs stay on the workers (dask arrays backed by futures) rather than travelling back
  through the client. With ``lazy=True`` (:mod:`.dask_lazy`) nothing is computed until the
  result is saved or computed, so inputs larger than memory stream block by block through
  every step.

Both report :class:`~daisy_widgets.core.progress.ProgressEvent` to a callback
(steps and chunks done, ETA), stop within about a second of
``CancelToken.cancel()`` (raising :class:`Cancelled`, with the store restored
to what it was before the run: no partial output), and wrap a failure as
:class:`StepError` naming the workflow, the step, the chunk and the cause. That
shared run bookkeeping lives in :mod:`.engine_base`.

This module is the entry point (:func:`run_workflow`) and keeps every engine name
importable from here.

Example::

    result = run_workflow(wf, store, engine="dask", progress=TextProgressBar(), cancel=token)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .dask_tasks import ChunkError, dask_from_future
from .datastore import DataStore
from .engine_base import Engine
from .engine_dask import DaskEngine, _close_engines, _engines, get_dask_engine
from .engine_inprocess import InProcessEngine
from .errors import Cancelled, StepError
from .progress import CancelToken, ProgressCallback, ProgressEvent
from .workflow import Workflow

__all__ = [
    "Cancelled",
    "CancelToken",
    "ChunkError",
    "DaskEngine",
    "Engine",
    "InProcessEngine",
    "ProgressCallback",
    "ProgressEvent",
    "StepError",
    "_close_engines",
    "_engines",
    "dask_from_future",
    "get_dask_engine",
    "run_workflow",
]


def run_workflow(
    wf: Workflow,
    store: DataStore | None = None,
    *,
    engine: str | Engine = "inprocess",
    scheduler: Any = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    release: bool | None = None,
    lookup: Callable[[str], type] | None = None,
    report: Any = None,
    consumed: bool = False,
    keep: Sequence[str] = (),
    **engine_kw: Any,
) -> DataStore:
    """Run a workflow and return the data store with its results.

    Parameters
    ----------
    wf
        The workflow.
    store
        Input data (modified in place); a new empty store if None.
    engine
        ``"inprocess"``, ``"dask"`` or an :class:`Engine` instance.
    scheduler
        For ``"dask"``: a scheduler address or Client; None starts (once) a LocalCluster.
    progress
        Called with :class:`ProgressEvent` as steps and chunks finish.
    cancel
        :class:`CancelToken`; when set the run stops within about a second, raises
        :class:`Cancelled` and leaves the store as it was.
    release
        Drop the objects the workflow produced that are not persisted (default: only
        when something is marked to persist, by ``store.persist`` or ``wf.persist``).
    report
        A :class:`~daisy_widgets.core.control.RunReport` to fill with what happened to each
        step (ran, skipped, retried, fell back, and why).
    consumed
        In-process engine (batch runs): drop each object the run produced as soon as the last
        step reading it has run, unless persisted or in ``keep`` (keys). Peak memory is then
        that of the objects alive together, not of every intermediate result.
    engine_kw
        Passed to :class:`DaskEngine` (``lazy=True``, ``memory_limit=...``, ``gpu_workers=``).
    """
    if isinstance(engine, Engine):
        eng = engine
    elif engine in ("inprocess", "in-process", "local"):
        eng = InProcessEngine()
    elif engine == "dask":
        eng = get_dask_engine(scheduler, **engine_kw)
    else:
        raise ValueError(f"unknown engine {engine!r}: expected 'inprocess', 'dask' or an Engine")
    extra = {} if report is None else {"report": report}
    if consumed and isinstance(eng, InProcessEngine):
        extra.update(consumed=True, keep=tuple(keep))
    return eng.run(wf, store, progress=progress, cancel=cancel, release=release, lookup=lookup, **extra)
