"""The in-process engine: every step in this process, one after another.

Data-parallel steps run chunk by chunk, so progress and cancellation are fine-grained.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .algorithm import Algorithm, RunContext
from .datastore import DataStore, is_dask, materialize
from .engine_base import (
    Engine,
    RunReporter,
    chunk_label,
    chunk_ranges,
    concat_parts,
    finish_run,
    prepare_run,
    restore_store,
    split_axis,
    take_range,
)
from .errors import Cancelled, StepError
from .progress import CancelToken, ProgressCallback
from .workflow import Step, Workflow


class InProcessEngine(Engine):
    """Run every step in this process, in order.

    Data-parallel steps with a declared (or per-step) ``block`` run chunk by
    chunk; inputs that are dask arrays or futures are brought into memory one
    chunk at a time for split inputs, whole otherwise.
    """

    def run(
        self,
        wf: Workflow,
        store: DataStore | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        release: bool | None = None,
        lookup: Callable[[str], type] | None = None,
    ) -> DataStore:
        """Run ``wf`` on ``store`` (modified in place and returned).

        Raises
        ------
        WorkflowError
            Before anything runs, when the workflow is invalid.
        StepError
            When a step fails (names workflow, step, chunk and cause).
        Cancelled
            When ``cancel`` was set; the store is as it was before the run.
        """
        store, plan = prepare_run(wf, store, lookup)
        store.persist(*wf.persist)
        cancel = cancel or CancelToken()
        rep = RunReporter(wf, len(plan), progress)
        snapshot = store.copy()
        before = set(store.keys())
        produced: list[str] = []
        try:
            for index, (path, step, algo) in enumerate(plan):
                cancel.raise_if_cancelled()
                inputs = {port: store[key] for port, key in step.inputs.items()}
                self._run_step(wf, index, path, step, algo, inputs, store, rep, cancel)
                produced.extend(step.outputs.values())
        except Cancelled:
            restore_store(store, snapshot)
            raise
        finish_run(wf, store, before, produced, release)
        rep.finish()
        return store

    def _run_step(
        self,
        wf: Workflow,
        index: int,
        path: str,
        step: Step,
        algo: Algorithm,
        inputs: dict[str, Any],
        store: DataStore,
        rep: RunReporter,
        cancel: CancelToken,
    ) -> None:
        chunks_total = [1]
        chunks_done = [0]

        def inner(done: float, total: float, message: str = "") -> None:
            frac = (done / total) if total else 0.0
            rep(index, path, chunks_done[0], chunks_total[0], min(max(frac, 0.0), 1.0), message)

        algo.context = RunContext(progress=inner, cancelled=lambda: cancel.cancelled)
        try:
            ranges = chunk_ranges(algo, step, inputs, lambda n, x: n)
        except ValueError as exc:
            raise StepError(wf.name, path, exc) from exc
        rep(index, path, 0, len(ranges) if ranges else 1)
        if ranges is None:
            try:
                result = algo(**{k: materialize(v) for k, v in inputs.items()})
            except Cancelled:
                raise
            except Exception as exc:
                raise StepError(wf.name, path, exc) from exc
            chunks_done[0] = 1
        else:
            split = algo.split
            axis = split_axis(algo)
            chunks_total[0] = len(ranges)
            whole = {k: materialize(v) for k, v in inputs.items() if k not in split.inputs}
            parts: list[dict[str, Any]] = []
            for i, (a, b) in enumerate(ranges):
                cancel.raise_if_cancelled()
                try:
                    piece = {
                        k: np.asarray(take_range(v, split.inputs[k], a, b))
                        if is_dask(v)
                        else take_range(materialize(v), split.inputs[k], a, b)
                        for k, v in inputs.items()
                        if k in split.inputs
                    }
                    algo.context.chunk_start = a  # type: ignore[attr-defined]
                    parts.append(algo(**whole, **piece))
                except Cancelled:
                    raise
                except Exception as exc:
                    raise StepError(
                        wf.name, path, exc, chunk=chunk_label(i, len(ranges), (a, b), axis)
                    ) from exc
                chunks_done[0] = i + 1
                rep(index, path, i + 1, len(ranges))
            result = {}
            for name in parts[0]:
                if name in split.outputs:
                    result[name] = concat_parts([p[name] for p in parts], split.outputs[name])
                else:
                    result[name] = parts[0][name]
        for port, key in step.outputs.items():
            if port in result:
                store[key] = result[port]
        rep(index, path, chunks_total[0], chunks_total[0])
