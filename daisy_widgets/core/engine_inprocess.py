"""The in-process engine: every step in this process, one after another.

Data-parallel steps run chunk by chunk, so progress and cancellation are fine-grained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .algorithm import Algorithm, RunContext
from .control import Controller, RunReport
from .datastore import DataStore, is_dask, materialize
from .engine_base import (
    Engine,
    RunReporter,
    chunk_label,
    chunk_ranges,
    concat_parts,
    consumed_after,
    finish_run,
    release_consumed,
    restore_store,
    split_axis,
    take_range,
)
from .errors import Cancelled, StepError
from .plan import PlanNode, prepare_plan
from .progress import CancelToken, ProgressCallback
from .resources import inprocess_offer
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
        report: RunReport | None = None,
        consumed: bool = False,
        keep: Sequence[str] = (),
    ) -> DataStore:
        """Run ``wf`` on ``store`` (modified in place and returned).

        ``report`` (a :class:`~daisy_widgets.core.control.RunReport`) is filled with what
        happened to every step; it is also kept as :attr:`last_report`.

        ``consumed=True`` (batch runs): each object this run produced is dropped as soon as
        the last step reading it has run, unless persisted or in ``keep`` (a workflow with
        conditions, loops or fallbacks keeps them to the end, as without it).

        Raises
        ------
        WorkflowError
            Before anything runs, when the workflow is invalid.
        StepError
            When a step fails (names workflow, step, chunk and cause).
        Cancelled
            When ``cancel`` was set; the store is as it was before the run.
        """
        store, nodes, n_leaves = prepare_plan(wf, store, lookup, inprocess_offer)
        store.persist(*wf.persist)
        cancel = cancel or CancelToken()
        rep = RunReporter(wf, n_leaves, progress)
        snapshot = store.copy()
        before = set(store.keys())
        self.last_report = report = report if report is not None else RunReport()

        def run_leaf(node: PlanNode, inputs: dict[str, Any], _retries: int | None) -> None:
            self._run_step(wf, node.index, node.path, node.step, node.algo, inputs, store, rep, cancel)

        schedule = consumed_after(nodes) if consumed else None
        after = release_consumed(store, schedule, before, keep) if schedule else None
        ctl = Controller(wf.name, nodes, store, rep, cancel, run_leaf, report, after)
        try:
            ctl.run()
        except Cancelled:
            restore_store(store, snapshot)
            raise
        finish_run(wf, store, before, ctl.produced, release)
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
