"""Engines that run a :class:`~daisy_widgets.core.workflow.Workflow` over a :class:`DataStore`.

* :class:`InProcessEngine` runs every step in this process, one after another
  (chunk by chunk for data-parallel steps, so progress and cancellation are fine-grained).
* :class:`DaskEngine` runs on a Dask cluster: a ``distributed.LocalCluster`` by
  default, or any scheduler address (dask-gateway, the Dask Kubernetes operator).
  Data-parallel steps (``Algorithm.split``) are mapped over chunks on the workers;
  step outputs stay on the workers (dask arrays backed by futures) rather than
  travelling back through the client. With ``lazy=True`` nothing is computed
  until the result is saved or computed, so inputs larger than memory stream
  block by block through every step.

Both report :class:`~daisy_widgets.core.progress.ProgressEvent` to a callback
(steps and chunks done, ETA), stop within about a second of
``CancelToken.cancel()`` (raising :class:`Cancelled`, with the store restored
to what it was before the run: no partial output), and wrap a failure as
:class:`StepError` naming the workflow, the step, the chunk and the cause.

Example::

    result = run_workflow(wf, store, engine="dask", progress=TextProgressBar(), cancel=token)
"""

from __future__ import annotations

import atexit
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .algorithm import Algorithm, RunContext
from .backend import get_array_module
from .datastore import DataStore, is_dask, materialize
from .errors import Cancelled, StepError
from .progress import CancelToken, ProgressCallback, ProgressEvent, estimate_eta
from .workflow import Step, Workflow

#: in-memory arrays larger than this are scattered to the workers rather than put in the task graph
_SCATTER_BYTES = 1 << 20
#: chunks handed to a Dask worker thread at once (one running, one ready to start)
_SLOTS_PER_THREAD = 2
#: times a chunk is sent again when its worker is lost (with the blocks it was given)
_LOST_WORKER_RESENDS = 3


# -- shared pieces -----------------------------------------------------------------------
class _Reporter:
    """Turns (step, chunk) positions into ProgressEvents with an ETA."""

    def __init__(self, wf: Workflow, n_steps: int, callback: ProgressCallback | None):
        self.wf = wf.name
        self.n = max(n_steps, 1)
        self.cb = callback
        self.t0 = time.monotonic()
        self.last: ProgressEvent | None = None

    def __call__(
        self, index: int, step: str, done: int, total: int, inner: float = 0.0, message: str = ""
    ) -> None:
        if self.cb is None:
            return
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
        )
        self.last = ev
        self.cb(ev)

    def finish(self) -> None:
        self(self.n - 1, "", 1, 1, message="done")


def _prepare(
    wf: Workflow, store: DataStore | None, lookup: Callable[[str], type] | None
) -> tuple[DataStore, list[tuple[str, Step, Algorithm]]]:
    """Validate everything and build every algorithm before anything runs."""
    store = DataStore() if store is None else store
    wf.validate(available=store.keys() + [k for k in wf.required_keys() if k in store], lookup=lookup)
    if lookup is None:
        from .registry import get_algorithm as lookup
    plan = []
    for path, step in wf.flatten():
        cls = lookup(step.algorithm)  # type: ignore[arg-type]
        plan.append((path, step, cls(**step.params)))
    return store, plan


def _chunks_of(
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


def _take(x: Any, axis: int, a: int, b: int) -> Any:
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(a, b)
    return x[tuple(idx)]


def _chunk_label(i: int, n: int, ab: tuple[int, int] | None, axis: int | None) -> str | None:
    if ab is None:
        return None
    return f"{i + 1}/{n} (axis {axis}, {ab[0]}:{ab[1]})"


def _split_axis(algo: Algorithm) -> int | None:
    return next(iter(algo.split.inputs.values())) if algo.split and algo.split.inputs else None


def _concat(parts: list[Any], axis: int) -> Any:
    xp = get_array_module(*parts)
    return xp.concatenate(parts, axis=axis)


def _finish_run(
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


# -- in-process ----------------------------------------------------------------------------
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
        store, plan = _prepare(wf, store, lookup)
        store.persist(*wf.persist)
        cancel = cancel or CancelToken()
        rep = _Reporter(wf, len(plan), progress)
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
            store._objs, store._attrs, store._persist = snapshot._objs, snapshot._attrs, snapshot._persist
            raise
        _finish_run(wf, store, before, produced, release)
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
        rep: _Reporter,
        cancel: CancelToken,
    ) -> None:
        chunks_total = [1]
        chunks_done = [0]

        def inner(done: float, total: float, message: str = "") -> None:
            frac = (done / total) if total else 0.0
            rep(index, path, chunks_done[0], chunks_total[0], min(max(frac, 0.0), 1.0), message)

        algo.context = RunContext(progress=inner, cancelled=lambda: cancel.cancelled)
        try:
            ranges = _chunks_of(algo, step, inputs, lambda n, x: n)
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
            axis = _split_axis(algo)
            chunks_total[0] = len(ranges)
            whole = {k: materialize(v) for k, v in inputs.items() if k not in split.inputs}
            parts: list[dict[str, Any]] = []
            for i, (a, b) in enumerate(ranges):
                cancel.raise_if_cancelled()
                try:
                    piece = {
                        k: np.asarray(_take(v, split.inputs[k], a, b))
                        if is_dask(v)
                        else _take(materialize(v), split.inputs[k], a, b)
                        for k, v in inputs.items()
                        if k in split.inputs
                    }
                    algo.context.chunk_start = a  # type: ignore[attr-defined]
                    parts.append(algo(**whole, **piece))
                except Cancelled:
                    raise
                except Exception as exc:
                    raise StepError(
                        wf.name, path, exc, chunk=_chunk_label(i, len(ranges), (a, b), axis)
                    ) from exc
                chunks_done[0] = i + 1
                rep(index, path, i + 1, len(ranges))
            result = {}
            for name in parts[0]:
                if name in split.outputs:
                    result[name] = _concat([p[name] for p in parts], split.outputs[name])
                else:
                    result[name] = parts[0][name]
        for port, key in step.outputs.items():
            if port in result:
                store[key] = result[port]
        rep(index, path, chunks_total[0], chunks_total[0])


# -- Dask --------------------------------------------------------------------------------
class ChunkError(StepError):
    """A :class:`StepError` raised on a Dask worker; it pickles back to the client intact.

    Raised inside the chunk's task, so the error names the workflow, step and chunk
    whenever the chunk is computed: during the run, or later when a lazy result is saved.
    """

    def __reduce__(self) -> tuple:
        return (type(self), (self.workflow, self.step, self.cause, self.chunk))


def _run_chunk(
    algo: Algorithm,
    whole: dict[str, Any],
    pieces: dict[str, Any],
    cancel_name: str | None,
    chunk_start: int = 0,
    where: tuple[str, str, str | None] = ("", "", None),
) -> dict[str, Any]:
    """Run one chunk of a step on a worker (module level so that it pickles).

    ``where`` is ``(workflow, step, chunk label)``; failures are raised as :class:`ChunkError`.
    """
    try:
        return _run_chunk_inner(algo, whole, pieces, cancel_name, chunk_start)
    except (Cancelled, StepError):
        raise
    except Exception as exc:
        wf_name, step, chunk = where
        raise ChunkError(wf_name, step, exc, chunk=chunk) from exc


def _run_chunk_inner(
    algo: Algorithm, whole: dict[str, Any], pieces: dict[str, Any], cancel_name: str | None, chunk_start: int
) -> dict[str, Any]:
    checker = None
    if cancel_name:
        state = {"t": 0.0, "v": False}

        def checker() -> bool:
            now = time.monotonic()
            if not state["v"] and now - state["t"] > 0.5:
                state["t"] = now
                try:
                    from distributed import Event

                    state["v"] = Event(cancel_name).is_set()
                except Exception:
                    state["v"] = False
            return state["v"]

    algo.context = RunContext(cancelled=checker)
    algo.context.chunk_start = chunk_start  # type: ignore[attr-defined]
    inputs = dict(whole)
    for k, v in pieces.items():
        inputs[k] = np.asarray(v) if is_dask(v) else v
    return algo(**inputs)


def _is_big(v: Any) -> bool:
    """An in-memory array worth scattering to the workers rather than putting in the task graph."""
    return isinstance(v, np.ndarray) and v.nbytes > _SCATTER_BYTES


def _chunk_failed(
    client: Any,
    wf: Workflow,
    path: str,
    exc: BaseException,
    chunk: str | None,
    others: Any,
    cancel: CancelToken,
) -> None:
    """Raise for a chunk that did not finish: :class:`Cancelled` when the user cancelled, else
    :class:`StepError` naming the workflow, step and chunk (the other chunks are cancelled)."""
    if isinstance(exc, Cancelled) or cancel.cancelled:
        raise Cancelled("cancelled by the user")
    client.cancel(list(others))
    if isinstance(exc, StepError):  # raised on the worker, already names step and chunk
        raise exc
    raise StepError(wf.name, path, exc, chunk=chunk) from exc


def _meta(result: dict[str, Any]) -> dict[str, tuple]:
    out = {}
    for k, v in result.items():
        if (
            hasattr(v, "shape")
            and hasattr(v, "dtype")
            and getattr(v, "ndim", 0) > 0
            and v.dtype.names is None
        ):
            out[k] = ("array", tuple(v.shape), np.dtype(v.dtype).str)
        elif isinstance(v, np.ndarray) and v.dtype.names is not None:
            out[k] = ("table", tuple(v.shape), None)
        else:
            out[k] = ("value", None, None)
    return out


def _pick(result: dict[str, Any], name: str) -> Any:
    return result[name]


class DaskEngine(Engine):
    """Run workflows on a Dask cluster.

    Parameters
    ----------
    scheduler
        Scheduler address (``"tcp://host:8786"``), an existing ``distributed.Client``,
        or None to start a ``LocalCluster`` (closed with :meth:`close`).
    n_workers, threads_per_worker, processes, memory_limit
        LocalCluster settings (ignored with a scheduler address). ``memory_limit`` per worker,
        e.g. ``"2GB"``.
    retries
        Times a failing chunk is retried (chunks of a lost worker are always rescheduled).
    lazy
        Build every step as a lazy dask graph and compute nothing until the
        results are saved/computed: inputs larger than the cluster's memory stream
        block by block. Otherwise (default) each step is computed in turn and its
        outputs stay on the workers.
    """

    def __init__(
        self,
        scheduler: Any = None,
        *,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        processes: bool = True,
        memory_limit: str | float | None = "auto",
        retries: int = 1,
        lazy: bool = False,
    ):
        self._scheduler = scheduler
        self._cluster_kw = dict(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            memory_limit=memory_limit,
            dashboard_address=":0",
        )
        self._client = None
        self._cluster = None
        self._own = False
        self.retries = retries
        self.lazy = lazy
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (the LocalCluster is started on first use)."""
        with self._lock:
            if self._client is None:
                from distributed import Client, LocalCluster

                if self._scheduler is None:
                    self._cluster = LocalCluster(**self._cluster_kw)
                    self._client = Client(self._cluster, set_as_default=True)
                    self._own = True
                elif isinstance(self._scheduler, str):
                    self._client = Client(self._scheduler, set_as_default=True)
                    self._own = True
                else:
                    self._client = self._scheduler
            return self._client

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def close(self) -> None:
        """Close the client (and the LocalCluster this engine started); results held on it are lost."""
        if self._own and self._client is not None:
            import logging

            # results still referenced by stores are dropped with the cluster: no need to warn about it
            quiet = [
                logging.getLogger(n)
                for n in ("distributed.scheduler", "distributed.nanny", "distributed.worker")
            ]
            levels = [lg.level for lg in quiet]
            for lg in quiet:
                lg.setLevel(logging.ERROR)
            try:
                self._client.close()
                if self._cluster is not None:
                    self._cluster.close()
            finally:
                for lg, lv in zip(quiet, levels, strict=False):
                    lg.setLevel(lv)
        self._client = self._cluster = None

    # -- running ---------------------------------------------------------------------
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
        """Run ``wf`` on the cluster; ``store`` is modified in place and returned.

        Array outputs are dask arrays backed by futures on the workers (or lazy
        graphs with ``lazy=True``); small non-array outputs are fetched.
        """
        store, plan = _prepare(wf, store, lookup)
        store.persist(*wf.persist)
        cancel = cancel or CancelToken()
        client = self.client
        rep = _Reporter(wf, len(plan), progress)
        snapshot = store.copy()
        before = set(store.keys())
        produced: list[str] = []
        cancel_name = f"daisy-cancel-{uuid.uuid4().hex}"
        scattered: dict[int, Any] = {}
        live: list[Any] = []
        try:
            for index, (path, step, algo) in enumerate(plan):
                cancel.raise_if_cancelled()
                inputs = {port: store[key] for port, key in step.inputs.items()}
                self._run_step(
                    client,
                    wf,
                    index,
                    path,
                    step,
                    algo,
                    inputs,
                    store,
                    rep,
                    cancel,
                    cancel_name,
                    scattered,
                    live,
                )
                produced.extend(step.outputs.values())
        except Cancelled:
            try:
                from distributed import Event

                Event(cancel_name, client=client).set()
            except Exception:
                pass
            if live:
                client.cancel(live)
            store._objs, store._attrs, store._persist = snapshot._objs, snapshot._attrs, snapshot._persist
            raise
        except BaseException:
            if live:
                client.cancel(live)
            raise
        _finish_run(wf, store, before, produced, release)
        rep.finish()
        return store

    def _default_block(self, n: int, x: Any) -> int:
        if is_dask(x):
            return 0  # decided from the array's own chunks
        return max(1, math.ceil(n / (2 * self.n_workers)))

    def _run_step(
        self,
        client: Any,
        wf: Workflow,
        index: int,
        path: str,
        step: Step,
        algo: Algorithm,
        inputs: dict[str, Any],
        store: DataStore,
        rep: _Reporter,
        cancel: CancelToken,
        cancel_name: str,
        scattered: dict[int, Any],
        live: list[Any],
    ) -> None:
        import dask

        def ref(v: Any) -> Any:
            """A value to hand to a task: big in-memory arrays are scattered once."""
            if _is_big(v):
                if id(v) not in scattered:
                    scattered[id(v)] = (client.scatter(v, broadcast=False, hash=False), v)
                return scattered[id(v)][0]
            return v

        try:
            ranges = _chunks_of(algo, step, inputs, self._default_block)
            split = algo.split
            axis = _split_axis(algo)
            if ranges is not None:
                # a dask input without an explicit block: align the chunks on its own blocks
                first = next((inputs[k] for k in split.inputs if k in inputs), None)
                if is_dask(first) and not (step.block or split.block):
                    ax = split.inputs[next(k for k in split.inputs if k in inputs)]
                    bounds = np.cumsum((0,) + first.chunks[ax])
                    ranges = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=False)]
        except ValueError as exc:
            raise StepError(wf.name, path, exc) from exc

        whole = {k: ref(v) for k, v in inputs.items() if ranges is None or k not in split.inputs}
        # chunk tasks are named after the algorithm: the dashboard shows them so, and the
        # scheduler learns each algorithm's own chunk duration
        run_key = f"{algo.name}-{uuid.uuid4().hex}"
        streamed = (
            ranges is not None
            and not self.lazy
            and any(k in split.inputs and _is_big(v) for k, v in inputs.items())
        )
        n = len(ranges) if ranges is not None else 1
        label = (lambda i: _chunk_label(i, n, ranges[i], axis)) if ranges is not None else (lambda i: None)
        tasks = []
        if streamed:
            pass  # handed out below, as the workers free up
        elif ranges is None:
            tasks.append(
                dask.delayed(_run_chunk, pure=False)(
                    algo, whole, {}, cancel_name, 0, (wf.name, path, None), dask_key_name=f"{run_key}-0"
                )
            )
        else:
            # (lazy mode) a big in-memory input is scattered block by block: the blocks spread over
            # the workers, so the chunks do too (one scattered whole array would draw every chunk to its worker)
            blocks = {
                k: client.scatter([_take(v, split.inputs[k], a, b) for a, b in ranges], hash=False)
                for k, v in inputs.items()
                if k in split.inputs and _is_big(v)
            }
            for i, (a, b) in enumerate(ranges):
                pieces = {}
                for k, v in inputs.items():
                    if k not in split.inputs:
                        continue
                    ax = split.inputs[k]
                    pieces[k] = blocks[k][i] if k in blocks else _take(v, ax, a, b)
                tasks.append(
                    dask.delayed(_run_chunk, pure=False)(
                        algo,
                        whole,
                        pieces,
                        cancel_name,
                        a,
                        (wf.name, path, label(i)),
                        dask_key_name=f"{run_key}-{i}",
                    )
                )
        rep(index, path, 0, n)

        if self.lazy:
            self._lazy_outputs(
                client, wf, index, path, step, algo, tasks, ranges, store, label, rep, cancel, live
            )
            rep(index, path, n, n, message="graph built (computed when saved)")
            return

        if streamed:

            def chunk_args(i: int, worker: str) -> tuple:
                a, b = ranges[i]
                pieces = {}
                for k, v in inputs.items():
                    if k in split.inputs:
                        piece = _take(v, split.inputs[k], a, b)
                        pieces[k] = (
                            client.scatter(piece, workers=[worker], hash=False) if _is_big(v) else piece
                        )
                return (algo, whole, pieces, cancel_name, a, (wf.name, path, label(i)))

            futures = self._stream_chunks(
                client, wf, path, index, n, chunk_args, run_key, label, rep, cancel, live
            )
        else:
            futures = client.compute(tasks, retries=self.retries)
            live.extend(futures)
            pos = {f.key: i for i, f in enumerate(futures)}
            self._wait(client, wf, path, index, futures, pos, label, rep, cancel)
        metas = client.gather(client.map(_meta, futures, pure=False))
        for port, key in step.outputs.items():
            if port not in metas[0]:
                continue
            kinds = {m[port][0] for m in metas}
            if kinds == {"array"}:
                picks = client.map(_pick, futures, [port] * len(futures), pure=False)
                parts = [
                    dask_from_future(pf, m[port][1], np.dtype(m[port][2]))
                    for pf, m in zip(picks, metas, strict=False)
                ]
                if ranges is not None and port in split.outputs:
                    import dask.array as da

                    value = da.concatenate(parts, axis=split.outputs[port]) if len(parts) > 1 else parts[0]
                else:
                    value = parts[0]
            elif kinds == {"table"} and ranges is not None and port in split.outputs:
                value = np.concatenate(
                    client.gather(client.map(_pick, futures, [port] * len(futures), pure=False))
                )
            else:
                value = client.submit(_pick, futures[0], port, pure=False).result()
            store[key] = value
        # the chunk futures themselves can go: the picked outputs keep what they need
        for f in futures:
            live.remove(f)

    def _stream_chunks(
        self,
        client: Any,
        wf: Workflow,
        path: str,
        index: int,
        n: int,
        chunk_args: Callable[[int, str], tuple],
        run_key: str,
        label: Callable[[int], str | None],
        rep: _Reporter,
        cancel: CancelToken,
        live: list[Any],
    ) -> list[Any]:
        """Run ``n`` chunks as a work queue; return their futures in chunk order.

        A chunk is sent to a worker only when that worker has a free slot
        (``_SLOTS_PER_THREAD`` per thread), with its blocks scattered straight to it by
        ``chunk_args(i, worker)``. So a faster or less loaded worker takes more chunks
        (sent all at once, the chunks would be split evenly in advance and the run would
        wait for the slowest worker), and only the blocks of the chunks in flight are on
        the cluster. A chunk whose worker is lost, with the blocks it was given, is sent
        again elsewhere (``_LOST_WORKER_RESENDS`` times); a failing chunk is retried
        ``retries`` times, then raises :class:`StepError` naming it.
        """
        from collections import Counter, deque

        from distributed import wait
        from distributed.client import FuturesCancelledError

        futures: list[Any] = [None] * n
        todo = deque(range(n))
        resends = [0] * n
        placed: dict[Any, tuple[int, str]] = {}  # future -> (chunk, worker it was sent to)
        busy: Counter[str] = Counter()
        workers: dict[str, int] = {}  # address -> threads, asked again when a worker may have come or gone
        done_n = 0
        asked = 0.0  # when the worker list was last asked for

        def fill(refresh: bool = False) -> None:
            nonlocal asked
            if refresh or not workers:
                asked = time.monotonic()
                workers.clear()
                workers.update(
                    {
                        addr: w.get("nthreads", 1)
                        for addr, w in client.scheduler_info().get("workers", {}).items()
                    }
                )
            while todo and workers:
                worker = min(workers, key=lambda w: busy[w] / workers[w])
                if busy[worker] >= _SLOTS_PER_THREAD * workers[worker]:
                    return
                i = todo.popleft()
                try:
                    args = chunk_args(i, worker)
                except Exception as exc:
                    if resends[i] >= _LOST_WORKER_RESENDS:
                        raise StepError(wf.name, path, exc, chunk=label(i)) from exc
                    resends[i] += 1
                    todo.appendleft(i)
                    del workers[worker]
                    continue
                f = client.submit(
                    _run_chunk,
                    *args,
                    key=f"{run_key}-{i}-{resends[i]}",
                    workers=[worker],
                    allow_other_workers=True,
                    retries=self.retries,
                    pure=False,
                )
                futures[i] = f
                live.append(f)
                placed[f] = (i, worker)
                busy[worker] += 1

        fill()
        while done_n < n:
            if cancel.cancelled:
                raise Cancelled("cancelled by the user")
            if not placed:  # no worker now (a lost one is being restarted)
                time.sleep(0.25)
                fill(refresh=True)
                continue
            try:
                wait(list(placed), timeout=0.25, return_when="FIRST_COMPLETED")
            except TimeoutError:
                if todo and time.monotonic() - asked > 2.0:
                    fill(refresh=True)  # workers may have joined (or a lost one come back)
                continue
            except FuturesCancelledError:
                pass  # a chunk whose blocks went with a lost worker: handled below
            for f in [f for f in placed if f.done()]:
                i, worker = placed.pop(f)
                busy[worker] -= 1
                if f.status == "finished":
                    done_n += 1
                    continue
                exc = f.exception() if f.status == "error" else None
                if f.status == "cancelled" and resends[i] < _LOST_WORKER_RESENDS and not cancel.cancelled:
                    # the chunk's blocks went with a lost worker (an error, KilledWorker included,
                    # has had the scheduler's own retries already)
                    live.remove(f)
                    resends[i] += 1
                    todo.appendleft(i)
                    workers.clear()  # asked again before the next chunk is sent
                    continue
                _chunk_failed(
                    client,
                    wf,
                    path,
                    exc
                    or RuntimeError(
                        f"chunk {f.status}: its worker was lost {resends[i] + 1} times, with the data sent to it"
                    ),
                    label(i),
                    placed,
                    cancel,
                )
            rep(index, path, done_n, n)
            fill()
        return futures

    def _wait(
        self,
        client: Any,
        wf: Workflow,
        path: str,
        index: int,
        futures: list,
        pos: dict,
        label: Callable[[int], str | None],
        rep: _Reporter,
        cancel: CancelToken,
    ) -> None:
        from distributed import wait

        pending = set(futures)
        done_n = 0
        while pending:
            if cancel.cancelled:
                raise Cancelled("cancelled by the user")
            try:
                done, pending = wait(pending, timeout=0.25, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for f in done:
                if f.status != "finished":
                    exc = f.exception() if f.status == "error" else RuntimeError(f"chunk {f.status}")
                    _chunk_failed(client, wf, path, exc, label(pos[f.key]), pending, cancel)
                done_n += 1
            rep(index, path, done_n, len(futures))

    def _lazy_outputs(
        self,
        client: Any,
        wf: Workflow,
        index: int,
        path: str,
        step: Step,
        algo: Algorithm,
        tasks: list,
        ranges: list[tuple[int, int]] | None,
        store: DataStore,
        label: Callable[[int], str | None],
        rep: _Reporter,
        cancel: CancelToken,
        live: list[Any],
    ) -> None:
        import dask
        import dask.array as da

        try:  # probe the first chunk for output shapes and dtypes (only metadata travels back)
            meta = client.compute(dask.delayed(_meta)(tasks[0]), retries=self.retries).result()
        except Cancelled:
            raise
        except StepError:
            raise
        except Exception as exc:
            raise StepError(wf.name, path, exc, chunk=label(0)) from exc
        split = algo.split
        for port, key in step.outputs.items():
            if port not in meta:
                continue
            kind, shape0, dt = meta[port]
            if kind == "table" and ranges is not None and port in split.outputs:
                # tables are small: compute every chunk now (this streams the inputs through the graph)
                futures = client.compute([dask.delayed(_pick)(t, port) for t in tasks], retries=self.retries)
                live.extend(futures)
                self._wait(
                    client,
                    wf,
                    path,
                    index,
                    futures,
                    {f.key: i for i, f in enumerate(futures)},
                    label,
                    rep,
                    cancel,
                )
                store[key] = np.concatenate(client.gather(futures))
                for f in futures:
                    live.remove(f)
                continue
            if kind != "array":
                store[key] = client.compute(dask.delayed(_pick)(tasks[0], port)).result()
                continue
            if ranges is None or port not in split.outputs:
                store[key] = da.from_delayed(dask.delayed(_pick)(tasks[0], port), shape0, np.dtype(dt))
                continue
            ax = split.outputs[port]
            n0 = ranges[0][1] - ranges[0][0]
            if (shape0[ax] * 1.0 / n0) != int(shape0[ax] / n0) and n0:
                raise StepError(
                    wf.name,
                    path,
                    ValueError(
                        f"lazy mode needs output {port!r} to scale with the chunk length; chunk of {n0} gave {shape0[ax]}"
                    ),
                )
            ratio = shape0[ax] // n0 if n0 else 1
            parts = []
            for t, (a, b) in zip(tasks, ranges, strict=False):
                shp = list(shape0)
                shp[ax] = (b - a) * ratio
                parts.append(da.from_delayed(dask.delayed(_pick)(t, port), tuple(shp), np.dtype(dt)))
            store[key] = da.concatenate(parts, axis=ax) if len(parts) > 1 else parts[0]

    def map_workflow(
        self,
        wf: Workflow,
        stores: Sequence[DataStore],
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[DataStore]:
        """Run ``wf`` once per store, the stores in parallel on the workers (in-process engine on each).

        Each store should hold in-memory data (it is shipped to a worker); results come back.
        """
        from distributed import wait

        cancel = cancel or CancelToken()
        client = self.client
        wf.validate()
        t0 = time.monotonic()
        futs = [client.submit(_run_whole, wf, s, pure=False, retries=self.retries) for s in stores]
        pending = set(futs)
        try:
            while pending:
                if cancel.cancelled:
                    raise Cancelled("cancelled by the user")
                try:
                    _, pending = wait(pending, timeout=0.25, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    continue
                if progress is not None:
                    done = len(futs) - len(pending)
                    frac = done / len(futs)
                    el = time.monotonic() - t0
                    progress(
                        ProgressEvent(
                            wf.name,
                            "",
                            0,
                            1,
                            done,
                            len(futs),
                            frac,
                            el,
                            estimate_eta(frac, el),
                            f"{done}/{len(futs)} stores",
                        )
                    )
            out = []
            for i, f in enumerate(futs):
                if f.status == "error":
                    exc = f.exception()
                    if isinstance(exc, StepError):
                        raise StepError(exc.workflow, exc.step, exc.cause, chunk=f"store {i}") from exc
                    raise StepError(wf.name, "", exc, chunk=f"store {i}") from exc
                out.append(f.result())
            return out
        finally:
            client.cancel([f for f in futs if not f.done()])


def _run_whole(wf: Workflow, store: DataStore) -> DataStore:
    return InProcessEngine().run(wf, store)


def dask_from_future(future: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """A dask array of one block held by a future on the cluster (nothing is transferred)."""
    import dask
    import dask.array as da

    return da.from_delayed(dask.delayed(future), shape, dtype)


# -- entry point -------------------------------------------------------------------------
_engines: dict[Any, DaskEngine] = {}
_engines_lock = threading.Lock()


def get_dask_engine(scheduler: Any = None, **kw: Any) -> DaskEngine:
    """A shared :class:`DaskEngine` per scheduler (a LocalCluster for None), kept until exit.

    Results of a Dask run live on the cluster, so the engine outlives one call.
    """
    key = (
        scheduler if isinstance(scheduler, (str, type(None))) else id(scheduler),
        tuple(sorted(kw.items())),
    )
    with _engines_lock:
        eng = _engines.get(key)
        if eng is None:
            import distributed  # noqa: F401  (its exit handlers first, so ours run before them)

            eng = _engines[key] = DaskEngine(scheduler, **kw)
            atexit.unregister(_close_engines)
            atexit.register(_close_engines)
        return eng


def _close_engines() -> None:
    for eng in list(_engines.values()):
        try:
            eng.close()
        except Exception:
            pass
    _engines.clear()


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
    engine_kw
        Passed to :class:`DaskEngine` (``lazy=True``, ``memory_limit=...``).
    """
    if isinstance(engine, Engine):
        eng = engine
    elif engine in ("inprocess", "in-process", "local"):
        eng = InProcessEngine()
    elif engine == "dask":
        eng = get_dask_engine(scheduler, **engine_kw)
    else:
        raise ValueError(f"unknown engine {engine!r}: expected 'inprocess', 'dask' or an Engine")
    return eng.run(wf, store, progress=progress, cancel=cancel, release=release, lookup=lookup)
