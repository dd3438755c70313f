"""The Dask engine: workflows on a Dask cluster.

A ``distributed.LocalCluster`` by default, or any scheduler address (dask-gateway,
the Dask Kubernetes operator). Data-parallel steps (``Algorithm.split``) are mapped
over chunks on the workers (:mod:`.dask_tasks`, handed out by the work queue of
:mod:`.dask_queue`); step outputs stay on the workers (dask arrays backed by
futures) rather than travelling back through the client. With ``lazy=True``
nothing is computed until the result is saved or computed (:mod:`.dask_lazy`).
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

from .algorithm import Algorithm
from .control import Controller, RunReport
from .dask_lazy import lazy_outputs
from .dask_queue import stream_chunks, wait_chunks
from .dask_tasks import dask_from_future, is_big, output_meta, pick_output, run_chunk
from .datastore import DataStore, is_dask
from .engine_base import (
    Engine,
    RunReporter,
    chunk_label,
    chunk_ranges,
    finish_run,
    restore_store,
    split_axis,
    take_range,
)
from .engine_inprocess import InProcessEngine
from .errors import Cancelled, StepError
from .plan import PlanNode, prepare_plan
from .progress import CancelToken, ProgressCallback, ProgressEvent, estimate_eta
from .resources import dask_offers
from .workflow import Step, Workflow


class DaskEngine(Engine):
    """Run workflows on a Dask cluster.

    Parameters
    ----------
    scheduler
        Scheduler address (``"tcp://host:8786"``), an existing ``distributed.Client``,
        or None to start a ``LocalCluster`` (closed with :meth:`close`).
    n_workers, threads_per_worker, processes, memory_limit
        LocalCluster settings (ignored with a scheduler address). ``memory_limit`` per worker,
        e.g. ``"2GB"``; thread workers (``processes=False``) get none: their memory monitor
        would measure the whole process and pause them for good once it grew past the limit.
    retries
        Times a failing chunk is retried (chunks of a lost worker are always rescheduled).
    gpu_workers
        LocalCluster workers (of ``n_workers``) started with the ``GPU`` resource, where steps
        that need a GPU run; ``"auto"``: one per CUDA device of this machine (none without one).
    lazy
        Build every step as a lazy dask graph and compute nothing until the
        results are saved/computed: inputs larger than the cluster's memory stream
        block by block. Otherwise (default) each step is computed in turn and its
        outputs stay on the workers.
    worker_profile
        Keep the LocalCluster workers' statistical profiler (the dashboard's "Profile" page);
        off by default, it costs CPU in every worker (:mod:`.local_cluster`).
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
        gpu_workers: int | str = "auto",
        worker_profile: bool = False,
    ):
        self._scheduler = scheduler
        self._gpu_workers = gpu_workers
        self._worker_profile = worker_profile
        self._cluster_kw = dict(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            memory_limit=memory_limit if processes else 0,
            dashboard_address=":0",
        )
        self._client = None
        self._cluster = None
        self._own = False
        self.retries = retries
        self.lazy = lazy
        self.last_report: RunReport | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (the LocalCluster is started on first use)."""
        with self._lock:
            if self._client is None:
                from distributed import Client

                if self._scheduler is None:
                    from .local_cluster import connect_local_cluster

                    self._cluster, self._client = connect_local_cluster(
                        self._cluster_kw, self._gpu_workers, profile=self._worker_profile
                    )
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
        report: RunReport | None = None,
    ) -> DataStore:
        """Run ``wf`` on the cluster; ``store`` is modified in place and returned.

        Array outputs are dask arrays backed by futures on the workers (or lazy
        graphs with ``lazy=True``); small non-array outputs are fetched. A step that
        needs resources (``gpu``...) has its chunks run only on the workers that offer
        them; ``report`` is filled as by :meth:`InProcessEngine.run`.
        """
        store, nodes, n_leaves = prepare_plan(wf, store, lookup, lambda: dask_offers(self.client))
        store.persist(*wf.persist)
        cancel = cancel or CancelToken()
        client = self.client
        rep = RunReporter(wf, n_leaves, progress)
        snapshot = store.copy()
        before = set(store.keys())
        cancel_name = f"daisy-cancel-{uuid.uuid4().hex}"
        scattered: dict[int, Any] = {}
        live: list[Any] = []
        self.last_report = report = report if report is not None else RunReport()

        def run_leaf(node: PlanNode, inputs: dict[str, Any], retries: int | None) -> None:
            self._run_step(
                client,
                wf,
                node.index,
                node.path,
                node.step,
                node.algo,
                inputs,
                store,
                rep,
                cancel,
                cancel_name,
                scattered,
                live,
                node.restrictions,
                self.retries if retries is None else retries,
            )

        ctl = Controller(wf.name, nodes, store, rep, cancel, run_leaf, report)
        try:
            ctl.run()
        except Cancelled:
            try:
                from distributed import Event

                Event(cancel_name, client=client).set()
            except Exception:
                pass
            if live:
                client.cancel(live)
            restore_store(store, snapshot)
            raise
        except BaseException:
            if live:
                client.cancel(live)
            raise
        finish_run(wf, store, before, ctl.produced, release)
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
        rep: RunReporter,
        cancel: CancelToken,
        cancel_name: str,
        scattered: dict[int, Any],
        live: list[Any],
        restrictions: dict[str, Any] | None = None,
        retries: int = 1,
    ) -> None:
        import dask

        restrictions = restrictions or {}
        # a step restricted to some workers is computed now, there: a lazy graph computed later
        # (when saved) would lose its restrictions
        lazy = self.lazy and not restrictions

        def ref(v: Any) -> Any:
            """A value to hand to a task: big in-memory arrays are scattered once."""
            if is_big(v):
                if id(v) not in scattered:
                    scattered[id(v)] = (client.scatter(v, broadcast=False, hash=False), v)
                return scattered[id(v)][0]
            return v

        try:
            ranges = chunk_ranges(algo, step, inputs, self._default_block)
            split = algo.split
            axis = split_axis(algo)
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
            and not lazy
            and any(k in split.inputs and is_big(v) for k, v in inputs.items())
        )
        n = len(ranges) if ranges is not None else 1
        label = (lambda i: chunk_label(i, n, ranges[i], axis)) if ranges is not None else (lambda i: None)
        tasks = []
        if streamed:
            pass  # handed out below, as the workers free up
        elif ranges is None:
            tasks.append(
                dask.delayed(run_chunk, pure=False)(
                    algo, whole, {}, cancel_name, 0, (wf.name, path, None), dask_key_name=f"{run_key}-0"
                )
            )
        else:
            # (lazy mode) a big in-memory input is scattered block by block: the blocks spread over
            # the workers, so the chunks do too (one scattered whole array would draw every chunk to its worker)
            blocks = {
                k: client.scatter([take_range(v, split.inputs[k], a, b) for a, b in ranges], hash=False)
                for k, v in inputs.items()
                if k in split.inputs and is_big(v)
            }
            for i, (a, b) in enumerate(ranges):
                pieces = {}
                for k, v in inputs.items():
                    if k not in split.inputs:
                        continue
                    ax = split.inputs[k]
                    pieces[k] = blocks[k][i] if k in blocks else take_range(v, ax, a, b)
                tasks.append(
                    dask.delayed(run_chunk, pure=False)(
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

        if lazy:
            lazy_outputs(
                client,
                wf,
                index,
                path,
                step,
                algo,
                tasks,
                ranges,
                store,
                label,
                rep,
                cancel,
                live,
                retries,
            )
            rep(index, path, n, n, message="graph built (computed when saved)")
            return

        if streamed:

            def chunk_args(i: int, worker: str) -> tuple:
                a, b = ranges[i]
                pieces = {}
                for k, v in inputs.items():
                    if k in split.inputs:
                        piece = take_range(v, split.inputs[k], a, b)
                        pieces[k] = (
                            client.scatter(piece, workers=[worker], hash=False) if is_big(v) else piece
                        )
                return (algo, whole, pieces, cancel_name, a, (wf.name, path, label(i)))

            futures = stream_chunks(
                client,
                wf,
                path,
                index,
                n,
                chunk_args,
                run_key,
                label,
                rep,
                cancel,
                live,
                retries,
                restrictions,
            )
        else:
            futures = client.compute(tasks, retries=retries, **restrictions)
            live.extend(futures)
            pos = {f.key: i for i, f in enumerate(futures)}
            wait_chunks(client, wf, path, index, futures, pos, label, rep, cancel)
        metas = client.gather(client.map(output_meta, futures, pure=False))
        for port, key in step.outputs.items():
            if port not in metas[0]:
                continue
            kinds = {m[port][0] for m in metas}
            if kinds == {"array"}:
                picks = client.map(pick_output, futures, [port] * len(futures), pure=False)
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
                    client.gather(client.map(pick_output, futures, [port] * len(futures), pure=False))
                )
            else:
                value = client.submit(pick_output, futures[0], port, pure=False).result()
            store[key] = value
        # the chunk futures themselves can go: the picked outputs keep what they need
        for f in futures:
            live.remove(f)

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


# -- shared engines ----------------------------------------------------------------------
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
