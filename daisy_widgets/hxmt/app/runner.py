"""Running the app's HXMT jobs: one workflow per (observation, instrument), with cached steps.

A job's workflow is built from the app's parameters (:func:`job_workflow`).
Every step gets a fingerprint: its algorithm, its parameters and the
fingerprints of the steps whose outputs it reads. The data store of each job
is kept where the job ran (this process, or the Dask worker it ran on), with
the fingerprint of each step that produced its objects; a re-run executes only
the steps whose fingerprint changed (and so everything downstream of them),
reading the cached intermediate products of the others.

:class:`JobRunner` runs several jobs at once, on the Dask engine (one task per
job, the jobs in parallel on the workers; a re-run goes back to the worker
holding the job's cache) or in this process, one after another. Progress of
every job reaches the caller; a :class:`CancelToken` stops them all. A failing
job (no good time, bad input) does not stop the others: its error is returned.

Nothing here imports ipywidgets.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...core.datastore import DataStore
from ...core.errors import Cancelled
from ...core.progress import CancelToken, ProgressEvent
from ...core.workflow import Workflow
from ..mission import spec
from .workflow import JobParams, fingerprints, job_workflow

# -- running one job where its cache lives ---------------------------------------------------
_CACHE: OrderedDict[str, tuple[dict[str, str], DataStore]] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def cache_limit() -> int:
    """Jobs whose intermediate products a process keeps (``DAISY_HXMT_CACHE_JOBS``, default 4; the
    least recently run are dropped first: a 10 ks HE job holds about 2 GB of event tables)."""
    try:
        return max(1, int(os.environ.get("DAISY_HXMT_CACHE_JOBS", "4")))
    except ValueError:
        return 4


def cached_jobs() -> list[str]:
    """Keys of the jobs cached in this process, least recently run first."""
    with _CACHE_LOCK:
        return list(_CACHE)


def clear_cache(key: str | None = None) -> None:
    """Forget the cached steps of one job (or of all) in this process."""
    with _CACHE_LOCK:
        if key is None:
            _CACHE.clear()
        else:
            _CACHE.pop(key, None)


def run_job(
    key: str,
    wf: Workflow,
    *,
    progress: Callable[[ProgressEvent], None] | None = None,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Run the steps of ``wf`` whose fingerprint changed since the last run of job ``key``.

    Returns :func:`extract_results` of the job's store, with ``steps_run`` and
    ``steps_cached`` (step ids) and ``step_seconds`` (wall time of each step run).
    """
    from ...core.engine import InProcessEngine

    fps = fingerprints(wf)
    with _CACHE_LOCK:
        done, store = _CACHE.setdefault(key, ({}, DataStore()))
        _CACHE.move_to_end(key)
        while len(_CACHE) > cache_limit():
            _CACHE.popitem(last=False)
    todo = [
        s for s in wf.steps if done.get(s.id) != fps[s.id] or any(k not in store for k in s.outputs.values())
    ]
    ids = {s.id for s in todo}
    cached = [s.id for s in wf.steps if s.id not in ids]
    for s in todo:  # dirty until they succeed (a failure half-way leaves them to be redone)
        done.pop(s.id, None)
    t_step: dict[str, float] = {}
    state = {"step": None, "t": time.monotonic()}

    def prog(ev: ProgressEvent) -> None:
        if ev.step != state["step"]:
            now = time.monotonic()
            if state["step"]:
                t_step[state["step"]] = now - state["t"]
            state["step"], state["t"] = ev.step, now
        if progress is not None:
            progress(ev)

    if todo:
        InProcessEngine().run(
            Workflow(name=wf.name, steps=todo), store, progress=prog, cancel=cancel, release=False
        )
        if state["step"]:
            t_step[state["step"]] = time.monotonic() - state["t"]
        done.update({s.id: fps[s.id] for s in todo})
    elif progress is not None:
        progress(ProgressEvent(wf.name, "", 0, 1, 1, 1, 1.0, 0.0, 0.0, "all steps cached"))
    res = extract_results(store)
    res.update(steps_run=[s.id for s in todo], steps_cached=cached, step_seconds=t_step)
    return res


def extract_results(store: DataStore) -> dict[str, Any]:
    """The small things the app shows (products, GTIs, files, summary numbers) from a job's store."""
    g = store.get
    scr = g("work/screened")
    meta = g("l1/meta")
    sp = g("products/spectrum")
    bsp = g("products/bkg_spectrum")
    gti = np.asarray(g("work/gti")) if g("work/gti") is not None else np.zeros((0, 2))
    out: dict[str, Any] = {
        "lc": g("products/lc"),
        "bkg_lc": g("products/bkg_lc"),
        "spectrum": sp,
        "bkg_spectrum": bsp,
        "profile": g("products/profile"),
        "pds": _plain(g("products/pds")),
        "gti": gti,
        "files": list(g("products/files") or []),
        "meta": dict(getattr(meta, "data", {}) or {}),
        "n_events": int(len(scr)) if scr is not None else 0,
        "ehk_range": (float(store["l1/ehk"]["TIME"][0]), float(store["l1/ehk"]["TIME"][-1]))
        if "l1/ehk" in store
        else None,
    }
    out["summary"] = summarize(out)
    return out


def _plain(box: Any) -> dict | None:
    if box is None:
        return None
    return dict(getattr(box, "data", box))


def summarize(res: dict[str, Any]) -> dict[str, float | None]:
    """Exposure after screening (live, s), GTI total (s), source and background rates (count/s), net rate."""
    from ..gti import total

    sp, bsp = res.get("spectrum"), res.get("bkg_spectrum")
    gti_s = float(total(res["gti"])) if res.get("gti") is not None and len(res["gti"]) else 0.0
    exposure = float(sp.exposure) if sp is not None else None
    rate = float(np.sum(sp.counts) / sp.exposure) if sp is not None and sp.exposure > 0 else None
    brate = None
    if sp is not None and bsp is not None and bsp.exposure > 0 and bsp.backscal > 0:
        brate = float(np.sum(bsp.counts) / bsp.exposure * sp.backscal / bsp.backscal)
    return {
        "gti_seconds": gti_s,
        "exposure": exposure,
        "rate": rate,
        "bkg_rate": brate,
        "net_rate": (rate - brate) if rate is not None and brate is not None else None,
        "n_events": res.get("n_events"),
    }


# -- on a Dask worker --------------------------------------------------------------------------
class _EventToken(CancelToken):
    """A cancel token that also reads a ``distributed.Event`` (checked at most twice a second)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self._t = 0.0

    @property
    def cancelled(self) -> bool:  # type: ignore[override]
        if self._event.is_set():
            return True
        now = time.monotonic()
        if now - self._t > 0.5:
            self._t = now
            try:
                from distributed import Event

                if Event(self.name).is_set():
                    self._event.set()
            except Exception:
                pass
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled("cancelled by the user")


def _run_on_worker(key: str, wf: Workflow, progress_name: str, cancel_name: str) -> dict[str, Any]:
    from distributed import get_client, get_worker

    client = get_client()
    last = [0.0]

    def prog(ev: ProgressEvent) -> None:
        now = time.monotonic()
        if ev.fraction < 1.0 and now - last[0] < 0.2:
            return
        last[0] = now
        try:
            client.set_metadata(
                progress_name,
                {
                    "step": ev.step,
                    "index": ev.step_index,
                    "n": ev.n_steps,
                    "fraction": ev.fraction,
                    "elapsed": ev.elapsed,
                    "message": ev.message,
                },
            )
        except Exception:
            pass

    try:
        res = run_job(key, wf, progress=prog, cancel=_EventToken(cancel_name))
    except Cancelled:
        return {"cancelled": True}  # not an error of the task: nothing to log on the worker
    res["worker"] = get_worker().address
    return res


# -- many jobs -----------------------------------------------------------------------------------
@dataclass
class Job:
    """One (observation, instrument) run: ``key`` is ``<exp_id>/<instrument>``."""

    key: str
    instrument: str
    l1_dir: str
    out_dir: str
    params: JobParams
    label: str = ""

    def workflow(self) -> Workflow:
        return job_workflow(self.instrument, self.l1_dir, self.out_dir, self.params)


@dataclass
class JobState:
    """What the caller sees of one job while it runs."""

    key: str
    label: str
    step: str = ""
    fraction: float = 0.0
    status: str = "queued"  # queued, running, done, failed, cancelled
    message: str = ""


class JobRunner:
    """Runs jobs on the Dask engine (in parallel) or in this process (one after another).

    Parameters
    ----------
    engine
        ``"dask"`` or ``"inprocess"``.
    scheduler
        Dask scheduler address or Client (None: the shared LocalCluster of :func:`get_dask_engine`).
    """

    def __init__(self, engine: str = "dask", scheduler: Any = None):
        if engine not in ("dask", "inprocess"):
            raise ValueError(f"unknown engine {engine!r}: expected 'dask' or 'inprocess'")
        self.engine = engine
        self.scheduler = scheduler
        self._where: dict[str, str] = {}  # job key -> worker address holding its cache

    def run(
        self,
        jobs: Sequence[Job],
        *,
        on_update: Callable[[list[JobState]], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> dict[str, dict[str, Any] | BaseException]:
        """Run every job; returns results (or the exception of a failed job) by key.

        Raises
        ------
        Cancelled
            When ``cancel`` was set (the jobs' caches are as before the run).
        """
        cancel = cancel or CancelToken()
        states = [JobState(j.key, j.label or j.key) for j in jobs]
        wfs = [j.workflow() for j in jobs]  # invalid parameters fail here, before anything runs
        for wf in wfs:
            wf.validate()
        if self.engine == "inprocess":
            return self._run_local(jobs, wfs, states, on_update, cancel)
        return self._run_dask(jobs, wfs, states, on_update, cancel)

    def _run_local(self, jobs, wfs, states, on_update, cancel):
        out: dict[str, Any] = {}
        for job, wf, st in zip(jobs, wfs, states, strict=False):
            cancel.raise_if_cancelled()
            st.status = "running"

            def prog(ev: ProgressEvent, st: JobState = st) -> None:
                st.step, st.fraction, st.message = ev.step, ev.fraction, ev.message
                if on_update:
                    on_update(states)

            try:
                out[job.key] = run_job(job.key, wf, progress=prog, cancel=cancel)
                st.status, st.fraction, st.step = "done", 1.0, ""
            except Cancelled:
                st.status = "cancelled"
                if on_update:
                    on_update(states)
                raise
            except Exception as exc:
                out[job.key] = exc
                st.status, st.message = "failed", str(exc)
            if on_update:
                on_update(states)
        return out

    def _client(self) -> Any:
        from ...core.engine import get_dask_engine

        return get_dask_engine(self.scheduler).client

    def _run_dask(self, jobs, wfs, states, on_update, cancel):
        from distributed import Event, wait

        client = self._client()
        tag = uuid.uuid4().hex
        cancel_name = f"daisy-hxmt-cancel-{tag}"
        pnames = [f"daisy-hxmt-progress-{tag}-{i}" for i in range(len(jobs))]
        live_workers = set(client.scheduler_info().get("workers", {}))
        futs = []
        for job, wf, pn in zip(jobs, wfs, pnames, strict=False):
            w = self._where.get(job.key)
            kw = {"workers": [w], "allow_other_workers": True} if w in live_workers else {}
            futs.append(client.submit(_run_on_worker, job.key, wf, pn, cancel_name, pure=False, **kw))
        for st in states:
            st.status = "running"
        pending = set(futs)
        try:
            while pending:
                if cancel.cancelled:
                    Event(cancel_name, client=client).set()
                    # give the tasks a moment to stop at their next check and restore their caches
                    wait(list(pending), timeout=10)
                    for st in states:
                        if st.status == "running":
                            st.status = "cancelled"
                    if on_update:
                        on_update(states)
                    raise Cancelled("cancelled by the user")
                try:
                    _, pending = wait(list(pending), timeout=0.3, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    pass
                for f, pn, st in zip(futs, pnames, states, strict=False):
                    if f.done():
                        st.status = "failed" if f.status == "error" else "done"
                        if st.status == "done":
                            st.fraction, st.step = 1.0, ""

                        continue
                    d = client.get_metadata(pn, default=None)
                    if not d:
                        continue
                    st.step, st.fraction, st.message = d["step"], d["fraction"], d["message"]
                if on_update:
                    on_update(states)
            out: dict[str, Any] = {}
            for job, f, st in zip(jobs, futs, states, strict=False):
                if f.status == "error":
                    exc = f.exception()
                    if isinstance(exc, Cancelled):
                        raise exc
                    out[job.key] = exc
                    st.status, st.message = "failed", str(exc)
                else:
                    r = f.result()
                    if r.get("cancelled"):
                        raise Cancelled("cancelled by the user")
                    self._where[job.key] = r.get("worker", "")
                    out[job.key] = r
            if on_update:
                on_update(states)
            return out
        finally:
            client.cancel([f for f in futs if not f.done()])
            for pn in pnames:
                try:
                    client.set_metadata(pn, None)
                except Exception:
                    pass


def product_dir(root: str | Path, exp_id: str, instrument: str) -> Path:
    """``<root>/<ExpID>/<instrument>``: where a job writes its products."""
    return Path(root) / (exp_id or "exposure") / spec(instrument).name
