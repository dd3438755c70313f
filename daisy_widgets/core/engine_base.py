"""The engine interface and the run bookkeeping every engine shares.

* :class:`Engine`: ``run(wf, store, progress=, cancel=) -> DataStore`` and ``map_workflow``;
* :class:`RunReporter`: (step, chunk) positions -> :class:`~daisy_widgets.core.progress.ProgressEvent`
  with an ETA;
* (the run plan, built before anything runs, is in :mod:`.plan`; its walk in :mod:`.control`);
* :func:`chunk_ranges`, :func:`take_range`, :func:`chunk_label`, :func:`split_axis`,
  :func:`concat_parts`: the chunks of a data-parallel step and their results;
* :func:`restore_store` (after a cancel: no partial output) and :func:`finish_run` (release
  what the workflow produced and nobody asked to keep);
* :func:`consumed_after`: which objects each step reads for the last time (a batch run drops
  them there, :func:`release_consumed`, so a chain of big tables never holds them all at once).

Step failures are raised as :class:`~daisy_widgets.core.errors.StepError` naming the
workflow, the step and the chunk; cancellation as :class:`~daisy_widgets.core.errors.Cancelled`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from .algorithm import Algorithm
from .backend import get_array_module
from .datastore import DataStore
from .progress import CancelToken, ProgressCallback, ProgressEvent, estimate_eta
from .workflow import Step, Workflow


class RunReporter:
    """Turns (step, chunk) positions into ProgressEvents with an ETA."""

    def __init__(self, wf: Workflow, n_steps: int, callback: ProgressCallback | None):
        self.wf = wf.name
        self.n = max(n_steps, 1)
        self.cb = callback
        self.t0 = time.monotonic()
        self.last: ProgressEvent | None = None
        #: loop round of the running step, added to its events (set by the controller)
        self.iteration = 0
        self.iteration_text = ""

    def __call__(
        self,
        index: int,
        step: str,
        done: int,
        total: int,
        inner: float = 0.0,
        message: str = "",
        event: str = "",
        attempt: int = 0,
    ) -> None:
        if self.cb is None:
            return
        if self.iteration_text and not event:
            message = f"{self.iteration_text} {message}".strip()
        total = max(total, 1)
        frac = min(1.0, (index + (done + inner) / total) / self.n)
        elapsed = time.monotonic() - self.t0
        ev = ProgressEvent(
            self.wf,
            step,
            index,
            self.n,
            done,
            total,
            frac,
            elapsed,
            0.0 if frac >= 1.0 else estimate_eta(frac, elapsed),
            message,
            event,
            self.iteration,
            attempt,
        )
        self.last = ev
        self.cb(ev)

    def note(self, index: int, step: str, event: str, message: str, attempt: int = 0) -> None:
        """An event of the control flow: ``"retry"``, ``"fallback"``, ``"skip"``, ``"iteration"``."""
        self(index, step, 0, 1, 0.0, message, event, attempt)

    def finish(self) -> None:
        self(self.n - 1, "", 1, 1, message="done")


def chunk_ranges(
    algo: Algorithm, step: Step, inputs: dict[str, Any], default_block: Callable[[int, Any], int]
) -> list[tuple[int, int]] | None:
    """``[(start, stop), ...]`` along the split axis, or None when the step runs whole."""
    split = algo.split
    if split is None:
        return None
    lengths = {}
    for port, axis in split.inputs.items():
        v = inputs.get(port)
        if v is None:
            continue
        shape = getattr(v, "shape", None)
        if shape is None or len(shape) <= axis:
            raise ValueError(f"input {port!r} cannot be split along axis {axis}: shape {shape}")
        lengths[port] = shape[axis]
    if not lengths:
        return None
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs split together differ in length along their split axes: {lengths}")
    n = next(iter(lengths.values()))
    first = inputs[next(iter(lengths))]
    block = step.block or split.block or default_block(n, first)
    block = max(1, int(block))
    return [(a, min(a + block, n)) for a in range(0, n, block)] or [(0, 0)]


def take_range(x: Any, axis: int, a: int, b: int) -> Any:
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(a, b)
    return x[tuple(idx)]


def chunk_label(i: int, n: int, ab: tuple[int, int] | None, axis: int | None) -> str | None:
    if ab is None:
        return None
    return f"{i + 1}/{n} (axis {axis}, {ab[0]}:{ab[1]})"


def split_axis(algo: Algorithm) -> int | None:
    return next(iter(algo.split.inputs.values())) if algo.split and algo.split.inputs else None


def concat_parts(parts: list[Any], axis: int) -> Any:
    xp = get_array_module(*parts)
    return xp.concatenate(parts, axis=axis)


def finish_run(
    wf: Workflow, store: DataStore, before: set[str], produced: list[str], release: bool | None
) -> None:
    """Release what the workflow produced and nobody asked to keep.

    ``produced`` may name a key more than once (two steps writing it, or a step
    updating its input in place): each key is handled once.
    """
    produced = list(dict.fromkeys(produced))
    private = [k for k in produced if k.startswith("_") and k in store and k not in before]
    for k in private:
        del store[k]
    new = [k for k in produced if k in store and k not in before]
    if release is None:
        release = bool(store.persisted())
    if release:
        store.release(new)


def consumed_after(nodes: Sequence[Any]) -> dict[int, list[str]] | None:
    """``{top-level step position: keys read there for the last time}`` of a plan's nodes.

    A key is listed only where its last value is read: a key written again at or after its
    last reading (a step updating it, a final result) is never listed. Returns None for a
    plan with control flow (conditions, switches, loops, fallbacks: the steps that run, and
    so what is read last, are known only while it runs).
    """
    last_read: dict[str, int] = {}
    last_write: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for m in node.walk():
            if m.when is not None or m.until is not None or m.cases or m.fallback is not None or m.standby:
                return None
            for k in m.step.inputs.values():
                last_read[k] = i
            for k in m.step.outputs.values():
                last_write[k] = i
    out: dict[int, list[str]] = {}
    for k, i in last_read.items():
        if last_write.get(k, -1) < i:
            out.setdefault(i, []).append(k)
    return out


def release_consumed(
    store: DataStore, schedule: dict[int, list[str]], before: set[str], keep: Sequence[str]
) -> Callable[[int], None]:
    """The controller's ``after_node``: drop the objects the step at a position read for the last
    time, when this run produced them (not given before it), they are not persisted and not in ``keep``."""
    kept = set(keep)

    def after(i: int) -> None:
        gone = [k for k in schedule.get(i, ()) if k in store and k not in before and k not in kept]
        store.release(gone)

    return after


def restore_store(store: DataStore, snapshot: DataStore) -> None:
    """Put back what ``store`` held when ``snapshot = store.copy()`` was taken (after a cancel)."""
    store._objs, store._attrs, store._persist = snapshot._objs, snapshot._attrs, snapshot._persist


class Engine:
    """Common interface: ``run(wf, store, progress=, cancel=) -> DataStore`` and ``map_workflow``."""

    def run(
        self,
        wf: Workflow,
        store: DataStore | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        release: bool | None = None,
        lookup: Callable[[str], type] | None = None,
        report: Any = None,
    ) -> DataStore:
        raise NotImplementedError

    def map_workflow(
        self,
        wf: Workflow,
        stores: Sequence[DataStore],
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[DataStore]:
        """Run ``wf`` once per store (e.g. many observations); return the stores in order."""
        out = []
        for i, s in enumerate(stores):

            def sub(ev: ProgressEvent, i: int = i) -> None:
                if progress is not None:
                    frac = (i + ev.fraction) / len(stores)
                    progress(
                        ProgressEvent(
                            ev.workflow,
                            ev.step,
                            ev.step_index,
                            ev.n_steps,
                            i,
                            len(stores),
                            frac,
                            ev.elapsed,
                            None,
                            f"store {i + 1}/{len(stores)}",
                        )
                    )

            out.append(self.run(wf, s, progress=sub, cancel=cancel))
        return out

    def close(self) -> None:
        pass

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
