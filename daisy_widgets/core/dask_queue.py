"""Waiting on a Dask step's chunks: the work queue that hands chunks to free workers,
the plain wait for chunks sent at once, and the one failure path of both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .dask_tasks import run_chunk
from .engine_base import RunReporter
from .errors import Cancelled, StepError
from .progress import CancelToken
from .workflow import Workflow

#: chunks handed to a Dask worker thread at once (one running, one ready to start); the one
#: ready to start is sent only while more chunks wait than the cluster has threads
_SLOTS_PER_THREAD = 2
#: times a chunk is sent again when its worker is lost (with the blocks it was given)
_LOST_WORKER_RESENDS = 3


def chunk_failed(
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


def stream_chunks(
    client: Any,
    wf: Workflow,
    path: str,
    index: int,
    n: int,
    chunk_args: Callable[[int, str], tuple],
    run_key: str,
    label: Callable[[int], str | None],
    rep: RunReporter,
    cancel: CancelToken,
    live: list[Any],
    retries: int = 1,
    restrictions: dict[str, Any] | None = None,
) -> list[Any]:
    """Run ``n`` chunks as a work queue; return their futures in chunk order.

    A chunk is sent to a worker only when that worker has a free slot
    (``_SLOTS_PER_THREAD`` per thread), with its blocks scattered straight to it by
    ``chunk_args(i, worker)``. So a faster or less loaded worker takes more chunks
    (sent all at once, the chunks would be split evenly in advance and the run would
    wait for the slowest worker), and only the blocks of the chunks in flight are on
    the cluster. A chunk is queued behind a busy thread (so that the thread starts it
    without waiting for this process) only while more chunks wait than the cluster has
    threads: the last chunks go to whichever thread frees up first, rather than
    waiting behind a slower worker's running chunk while another worker stands idle. A chunk whose worker is lost, with the blocks it was given, is sent
    again elsewhere (``_LOST_WORKER_RESENDS`` times); a failing chunk is retried
    ``retries`` times, then raises :class:`StepError` naming it. ``restrictions``
    (``{"resources": ..., "workers": [...]}``) keeps the chunks on the workers able to run them.
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
    only = set(restrictions["workers"]) if restrictions and "workers" in restrictions else None
    resources = (restrictions or {}).get("resources")

    def fill(refresh: bool = False) -> None:
        nonlocal asked
        if refresh or not workers:
            asked = time.monotonic()
            workers.clear()
            workers.update(
                {
                    addr: w.get("nthreads", 1)
                    for addr, w in client.scheduler_info().get("workers", {}).items()
                    if only is None or addr in only
                }
            )
        while todo and workers:
            worker = min(workers, key=lambda w: busy[w] / workers[w])
            # queue a chunk behind a busy thread only while others wait for every thread
            slots = _SLOTS_PER_THREAD if len(todo) > sum(workers.values()) else 1
            if busy[worker] >= slots * workers[worker]:
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
                run_chunk,
                *args,
                key=f"{run_key}-{i}-{resends[i]}",
                workers=[worker],
                allow_other_workers=True,
                retries=retries,
                resources=resources,
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
            chunk_failed(
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


def wait_chunks(
    client: Any,
    wf: Workflow,
    path: str,
    index: int,
    futures: list,
    pos: dict,
    label: Callable[[int], str | None],
    rep: RunReporter,
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
                chunk_failed(client, wf, path, exc, label(pos[f.key]), pending, cancel)
            done_n += 1
        rep(index, path, done_n, len(futures))
