"""Stage 3 of the HXMT app, Run: the jobs (observation x instrument) on the engine, with progress."""

from __future__ import annotations

import html
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as W

from ...core.errors import Cancelled
from ...core.progress import ProgressEvent, estimate_eta
from ...widgets.progress import JobProgress
from ...widgets.stage import Stage
from ..mission import INSTRUMENTS
from .help_texts import stage_help
from .messages import plain_error, say
from .model import HxmtModel
from .runner import Job, JobRunner, JobState, product_dir


class RunStage(Stage):
    """Run: the jobs of ``model.selected`` x ``model.instruments`` with ``model.params``, on the
    :class:`~.runner.JobRunner` (the controller: the Dask engine or this process); the finished
    jobs' products go to ``model.results`` (``results_version`` bumped).

    Parameters
    ----------
    model, runner
        The shared model and the job runner.
    products_dir
        Root folder of the products.
    """

    title = "3. Run"
    help_text, help_algorithms, help_docs = stage_help("run")

    def __init__(self, model: HxmtModel, runner: JobRunner, products_dir: str | os.PathLike, **kw: Any):
        super().__init__(model, runner, **kw)
        self.products_dir = Path(products_dir)

    @property
    def runner(self) -> JobRunner:
        return self.controller

    def _render(self) -> list[W.Widget]:
        self.run_button = W.Button(
            description="Run",
            icon="play",
            button_style="success",
            disabled=True,
            tooltip="run the chosen instruments' pipelines on the selected observations",
        )
        self.run_button.add_class("daisy-hxmt-run")
        self.run_button.on_click(lambda _b: self.run())
        self.engine = W.Dropdown(
            options=[("Dask cluster", "dask"), ("in this kernel", "inprocess")],
            value=self.runner.engine,
            description="engine",
            layout=W.Layout(width="220px"),
        )
        self.engine.observe(self._engine_changed, names="value")
        self.selection_note = W.HTML("0 observations selected")
        self.run_message = W.HTML("")
        self.run_message.add_class("daisy-hxmt-message")
        self.progress = JobProgress("HXMT pipelines")
        self.jobs_view = W.HTML("")
        self.jobs_view.add_class("daisy-hxmt-jobs")
        self._prev_steps: dict[str, str] = {}
        self._t_run = time.monotonic()
        names = ("selected", "instruments", "params", "param_problems", "running")
        self.observe_model(lambda _c: self.refresh(), names)
        return [
            W.HTML("<h3 style='margin:6px 0'>3. Run</h3>"),
            W.HBox([self.run_button, self.engine, self.selection_note]),
            self.run_message,
            self.progress,
            self.jobs_view,
        ]

    def _engine_changed(self, change: dict) -> None:
        where = self.runner._where
        self.controller = JobRunner(change["new"], self.runner.scheduler)
        self.controller._where = where

    def refresh(self) -> None:
        """Run is enabled when it can start; otherwise the page says why."""
        n = len(self.model.selected)
        self.selection_note.value = f"{n} observation{'s' if n != 1 else ''} selected"
        probs = self.model.problems()
        running = self.model.running
        self.run_button.disabled = bool(probs) or running
        if probs and not running:
            self.run_message.value = (
                "<span style='color:#8a5a00'>" + html.escape("To run: " + "; ".join(probs)) + "</span>"
            )
        elif not running and "color:#8a5a00" in self.run_message.value:
            self.run_message.value = ""

    def jobs(self) -> list[Job]:
        """The jobs Run would start: each selected observation × each ticked instrument it has."""
        jobs = []
        for row in self.model.selected:
            have = set(row.get("instruments") or INSTRUMENTS)
            for x in self.model.instruments:
                if x not in have:
                    continue
                jobs.append(
                    Job(
                        key=f"{row.get('exp_id') or row['uri']}/{x}",
                        instrument=x,
                        l1_dir=row["uri"],
                        out_dir=str(product_dir(self.products_dir, row.get("exp_id", ""), x)),
                        params=self.model.params[x],
                        label=f"{row.get('target', '')} {row.get('exp_id', '')} {x}".strip(),
                    )
                )
        return jobs

    def run(
        self, wait: bool = False, on_update: Callable[[list[JobState]], None] | None = None
    ) -> threading.Thread | None:
        """What the Run button does; ``wait`` blocks until the jobs finish; ``on_update`` sees the job states."""
        probs = self.model.problems()
        if probs:
            say(self.run_message, "Cannot run: " + "; ".join(probs) + ".", error=True)
            return None
        if self.model.running or self.progress.running:
            say(self.run_message, "A run is already going; wait for it or press Cancel.", error=True)
            return None
        jobs = self.jobs()
        if not jobs:
            say(self.run_message, "None of the selected observations has the ticked instruments.", error=True)
            return None
        if not self._fetch(jobs):
            return None
        self._prev_steps = {}
        self._t_run = time.monotonic()
        for j in jobs:
            self.model.job_labels[j.key] = j.label
        where = "the Dask cluster" if self.runner.engine == "dask" else "this kernel"
        say(self.run_message, f"Running {len(jobs)} job{'s' if len(jobs) != 1 else ''} on {where}…")
        update = on_update or self.show_states

        def job(progress: JobProgress, cancel: Any) -> dict:
            try:
                return self.runner.run(jobs, on_update=update, cancel=cancel)
            except Cancelled:
                msg = "Cancelled; nothing partial was kept. Earlier results are still shown."
                say(self.run_message, msg, error=True)
                self.model.running = False
                raise

        self.model.running = True
        thread = self.progress.run_in_thread(
            job, title=f"HXMT pipelines: {len(jobs)} job(s)", on_success=self._finished, on_error=self._failed
        )
        if wait:
            thread.join()
        return thread

    def _fetch(self, jobs: list[Job]) -> bool:
        """Copy the data service's observations into the user's cache (verified copies are reused).

        Here, not in the job thread: Tiled's download installs a SIGINT handler, main thread only.
        """
        rows = {j.key: r for r in self.model.selected for j in jobs if j.l1_dir == r["uri"]}
        fetched: dict[str, str] = {}
        for j in jobs:
            row = rows.get(j.key)
            if row is None or row.get("source") == "local":
                continue
            if row["uri"] not in fetched:
                say(self.run_message, f"Fetching {row.get('exp_id') or row['uri']} from the data service…")
                try:
                    fetched[row["uri"]] = str(self.model.archive.fetch(row))
                except Exception as exc:
                    say(self.run_message, "Cannot run: " + plain_error(exc), error=True)
                    return False
            j.l1_dir = fetched[row["uri"]]
        return True

    def show_states(self, states: list[JobState]) -> None:
        """Draw the jobs' progress (called from the runner while they run)."""
        for st in states:
            prev = self._prev_steps.get(st.key)
            if st.step and st.step != prev and st.status == "running":
                self.progress.log(f"{st.label}: {st.step}")
                self._prev_steps[st.key] = st.step
        n = len(states)
        frac = sum(s.fraction for s in states) / max(n, 1)
        done = sum(s.status in ("done", "failed") for s in states)
        running = [s for s in states if s.status == "running"]
        step = ", ".join(f"{s.label.split()[-1]}:{s.step}" for s in running if s.step)[:80]
        el = time.monotonic() - self._t_run
        self.progress(ProgressEvent("hxmt", step, done, n, done, n, frac, el, estimate_eta(frac, el), ""))
        rows = "".join(
            f"<tr><td>{html.escape(s.label)}</td><td>{html.escape(s.step)}</td>"
            f"<td><progress value='{s.fraction:.3f}' max='1'></progress></td>"
            f"<td class='daisy-hxmt-job-status'>{html.escape(s.status)}</td></tr>"
            for s in states
        )
        self.jobs_view.value = (
            "<table><tr><th align=left>job</th><th align=left>step</th><th></th>"
            f"<th align=left>status</th></tr>{rows}</table>"
        )

    def _finished(self, out: dict) -> None:
        ok, failed = {}, {}
        for key, r in out.items():
            (failed if isinstance(r, BaseException) else ok)[key] = r
        labels = self.model.job_labels
        for key, r in ok.items():
            cached = r.get("steps_cached") or []
            self.progress.log(
                f"{labels.get(key, key)}: ran {', '.join(r['steps_run']) or 'nothing'}"
                + (f"; reused cached {', '.join(cached)}" if cached else "")
            )
        msgs = [f"{labels.get(k, k)}: {plain_error(e)}" for k, e in failed.items()]
        for m in msgs:
            self.progress.log(m)
        if failed:
            say(self.run_message, ("Done with problems. " if ok else "Failed. ") + " ".join(msgs), error=True)
            self.progress.finish("failed" if not ok else "done")
        else:
            say(self.run_message, f"Done: {len(ok)} job{'s' if len(ok) != 1 else ''}.")
        with self.model.hold_trait_notifications():
            self.model.running = False
            self.model.update_results(ok, failed)

    def _failed(self, exc: BaseException) -> None:
        say(self.run_message, "Run failed: " + plain_error(exc), error=True)
        self.model.running = False


__all__ = ["RunStage"]
