"""The Insight-HXMT web app: find observations, run the HE/ME/LE pipelines, see the products.

``apps/hxmt.ipynb`` builds and displays :class:`HxmtApp`; everything the page
does is a method of the app object, so it also runs from Python without a
browser::

    app = HxmtApp(engine="inprocess")
    app.search(target="Crab")           # fills app.table
    app.table.select([0])
    app.instruments = ["HE"]
    app.forms["HE"].set("lcgen", binsize=10.0)
    app.run(wait=True)                  # workflows on the Dask engine (or in-process)
    app.summary_rows                    # exposure after screening, count rates
    app.files                           # product files of the shown job

A second :meth:`run` with changed parameters repeats only the steps whose
parameters (or inputs) changed; the others' intermediate products are cached
where the job ran.

CSS classes for browser tests: ``daisy-hxmt-app``, ``daisy-hxmt-search``
(button), ``daisy-hxmt-target``, ``daisy-hxmt-source``, ``daisy-hxmt-message``,
``daisy-hxmt-run`` (button), ``daisy-hxmt-jobs``, ``daisy-hxmt-summary``,
``daisy-hxmt-plot-<lc|spectrum|pds|profile>``, ``daisy-hxmt-files``.
"""

from __future__ import annotations

import html
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as W

from ..core.errors import Cancelled, DaisyError, InputFileError, StepError, ValidationError
from ..core.progress import ProgressEvent, estimate_eta
from ..widgets.plot_export import FileLinks, PlotExport
from ..widgets.progress import JobProgress
from ..widgets.table import Column, ResultsTable
from .app_archive import Archive, ArchiveUnavailable, LocalArchive, Query, default_archive, default_data_dir
from .app_forms import InstrumentForms
from .app_plots import LightCurvePlot, PowerSpectrumPlot, ProfilePlot, SpectrumPlot
from .app_runner import Job, JobRunner, JobState, product_dir
from .mission import INSTRUMENTS, spec

COLUMNS = [
    Column("target", "Target"),
    Column("obs_id", "ObsID"),
    Column("exp_id", "ExpID"),
    Column("start", "Start (UTC)"),
    Column("stop", "Stop (UTC)"),
    Column("exposure", "Exposure (s)", "{:.0f}"),
    Column("instruments", "Instruments"),
    Column("ra", "RA (deg)", "{:.3f}"),
    Column("dec", "Dec (deg)", "{:.3f}"),
]


def plain_error(exc: BaseException) -> str:
    """One or two sentences a user understands, for any failure the app can meet."""
    if isinstance(exc, StepError):
        cause = exc.cause
        what = {
            "load": "reading the Level-1 files",
            "gtigen": "making the good time intervals",
            "screen": "screening the events",
            "write": "writing the products",
        }.get(exc.step.split("/")[-1], f"step '{exc.step}'")
        return f"{what[0].upper() + what[1:]} failed: {plain_error(cause)}"
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.problems.items()) or str(exc)
    if isinstance(exc, InputFileError):
        return str(exc)
    if isinstance(exc, (DaisyError, ValueError, OSError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _opt_float(text: str, name: str, problems: dict) -> float | None:
    t = (text or "").strip()
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        problems[name] = [f"expected a number; got {t!r}"]
        return None


class HxmtApp(W.VBox):
    """The HXMT app (an ipywidgets VBox).

    Parameters
    ----------
    archive
        Where to search (default: :func:`default_archive`, the data service when
        ``DAISY_TILED_URL`` is set, else the local data folder).
    products_dir
        Root folder of the products (default ``DAISY_HXMT_PRODUCTS`` or ``~/daisy-hxmt-products``).
    engine
        ``"dask"`` (default: a local Dask cluster, or ``scheduler``) or ``"inprocess"``.
    scheduler
        Dask scheduler address (default ``DAISY_DASK_SCHEDULER``; None: a local cluster).
    """

    def __init__(
        self,
        archive: Archive | None = None,
        products_dir: str | os.PathLike | None = None,
        engine: str = "dask",
        scheduler: Any = None,
        **kw: Any,
    ):
        self.archive: Archive = archive if archive is not None else default_archive()
        self.products_dir = Path(
            products_dir or os.environ.get("DAISY_HXMT_PRODUCTS") or Path.home() / "daisy-hxmt-products"
        )
        self.runner = JobRunner(
            engine, scheduler if scheduler is not None else os.environ.get("DAISY_DASK_SCHEDULER")
        )
        self.results: dict[str, Any] = {}
        self.job_labels: dict[str, str] = {}
        self._lock = threading.Lock()
        self._build_search()
        self._build_params()
        self._build_run()
        self._build_results()
        header = W.HTML(
            "<h2 style='margin:4px 0'>Insight-HXMT data processing</h2>"
            "<span style='color:#555'>Find observations, run the HE/ME/LE pipelines, see light curves, "
            "spectra, power spectra and pulse profiles.</span>"
        )
        h3 = lambda t: W.HTML(f"<h3 style='margin:6px 0'>{t}</h3>")  # noqa: E731
        super().__init__(
            children=[
                header,
                h3("1. Find data"),
                self.search_box,
                h3("2. Parameters"),
                self.params_box,
                self.run_box,
                self.results_box,
            ],
            **kw,
        )
        self.add_class("daisy-hxmt-app")

    # ================================================================ search
    def _build_search(self) -> None:
        st = {"description_width": "90px"}
        self.target = W.Text(description="Target", placeholder="e.g. Crab", style=st)
        self.target.add_class("daisy-hxmt-target")
        self.obs_id = W.Text(description="ObsID", placeholder="e.g. P0101299001", style=st)
        self.ra = W.Text(
            description="RA (deg)", placeholder="cone centre", style=st, layout=W.Layout(width="200px")
        )
        self.dec = W.Text(
            description="Dec (deg)", placeholder="cone centre", style=st, layout=W.Layout(width="200px")
        )
        self.radius = W.Text(
            description="radius (deg)", placeholder="e.g. 1", style=st, layout=W.Layout(width="200px")
        )
        self.start = W.Text(description="from", placeholder="2018-03-01 or mission s", style=st)
        self.stop = W.Text(description="to", placeholder="2018-03-31 or mission s", style=st)
        self.search_fields = {
            "target": self.target,
            "obs_id": self.obs_id,
            "ra": self.ra,
            "dec": self.dec,
            "radius": self.radius,
            "start": self.start,
            "stop": self.stop,
        }
        self.search_errors = {k: W.HTML("") for k in self.search_fields}
        for k, e in self.search_errors.items():
            e.add_class("daisy-param-error")
            e.add_class(f"daisy-hxmt-search-error-{k}")
        self.search_button = W.Button(description="Search", icon="search", button_style="primary")
        self.search_button.add_class("daisy-hxmt-search")
        self.search_button.on_click(lambda _b: self.search())
        self.source = W.HTML("")
        self.source.add_class("daisy-hxmt-source")
        self.local_button = W.Button(
            description="Use local data folder",
            icon="folder-open",
            tooltip="search the local Level-1 folder instead of the data service",
            layout=W.Layout(display="none"),
        )
        self.local_button.on_click(lambda _b: self.use_local())
        self.search_message = W.HTML("")
        self.search_message.add_class("daisy-hxmt-search-message")
        self.table = ResultsTable(
            COLUMNS, empty_text="no search yet", on_select=lambda _rows: self._selection_changed()
        )
        self._show_source()

        def row(*ws):
            return W.HBox(list(ws))

        self.search_box = W.VBox(
            [
                self.source,
                row(self.target, self.search_errors["target"]),
                row(self.obs_id, self.search_errors["obs_id"]),
                row(
                    self.ra,
                    self.dec,
                    self.radius,
                    W.VBox([self.search_errors[k] for k in ("ra", "dec", "radius")]),
                ),
                row(self.start, self.stop, W.VBox([self.search_errors["start"], self.search_errors["stop"]])),
                row(self.search_button, self.local_button, self.search_message),
                self.table,
            ]
        )

    def _show_source(self) -> None:
        local = isinstance(self.archive, LocalArchive)
        color = "#8a5a00" if local else "#555"
        self.source.value = f"<span style='color:{color}'>Searching: {html.escape(self.archive.label)}</span>"

    def use_local(self, data_dir: str | os.PathLike | None = None) -> None:
        """Search a local Level-1 folder instead (e.g. when the data service is down)."""
        self.archive = LocalArchive(data_dir or default_data_dir())
        self.local_button.layout.display = "none"
        self._show_source()
        self.search_message.value = ""

    def query(self) -> Query:
        """The query of the search fields (raises ValidationError naming the bad fields)."""
        problems: dict[str, list[str]] = {}
        q = Query(
            target=self.target.value.strip(),
            obs_id=self.obs_id.value.strip(),
            ra=_opt_float(self.ra.value, "ra", problems),
            dec=_opt_float(self.dec.value, "dec", problems),
            radius=_opt_float(self.radius.value, "radius", problems),
            start=self.start.value.strip() or None,
            stop=self.stop.value.strip() or None,
        )
        for k, v in q.problems().items():
            problems.setdefault(k, []).extend(v)
        if problems:
            raise ValidationError("search", problems)
        return q

    def search(self, **fields: Any) -> list[dict]:
        """Search with the form (fields given here are typed in first); fills :attr:`table`."""
        for k, v in fields.items():
            self.search_fields[k].value = "" if v is None else str(v)
        for e in self.search_errors.values():
            e.value = ""
        self.search_message.value = ""
        try:
            q = self.query()
            rows = self.archive.search(q)
        except ValidationError as exc:
            for k, msgs in exc.problems.items():
                if k in self.search_errors:
                    self.search_errors[
                        k
                    ].value = f"<span style='color:#c00'>⚠ {html.escape('; '.join(msgs))}</span>"
            self._say(self.search_message, "Fix the marked search fields.", error=True)
            self.table.rows = []
            return []
        except ArchiveUnavailable as exc:
            self._say(self.search_message, f"The data service is not available: {exc}", error=True)
            self.local_button.layout.display = "" if not isinstance(self.archive, LocalArchive) else "none"
            self.table.rows = []
            return []
        except Exception as exc:
            self._say(self.search_message, f"Search failed: {plain_error(exc)}", error=True)
            self.table.rows = []
            return []
        self.table.empty_text = "no observations match"
        self.table.rows = rows
        if not rows:
            where = "the local data folder" if isinstance(self.archive, LocalArchive) else "the data service"
            self._say(self.search_message, f"No observations in {where} match this search.", error=True)
        else:
            self._say(
                self.search_message,
                f"{len(rows)} observation{'s' if len(rows) != 1 else ''} found; tick the ones to process.",
            )
            if len(rows) == 1:
                self.table.select([0])
        return rows

    def _selection_changed(self) -> None:
        if hasattr(self, "run_button") and hasattr(self, "table"):
            n = len(self.table.selected)
            self._update_run_state()
            self.selection_note.value = f"{n} observation{'s' if n != 1 else ''} selected"

    # ================================================================ parameters
    def _build_params(self) -> None:
        self.instrument_boxes = {
            x: W.Checkbox(value=(x == "HE"), description=x, indent=False, layout=W.Layout(width="70px"))
            for x in INSTRUMENTS
        }
        for x, b in self.instrument_boxes.items():
            b.add_class(f"daisy-hxmt-inst-{x}")
            b.observe(lambda _c: self._update_run_state(), names="value")
        self.forms = {x: InstrumentForms(x) for x in INSTRUMENTS}
        for f in self.forms.values():
            for pf in f.forms.values():
                pf.on_change(lambda _f: self._update_run_state())
            f.timing.observe(lambda _c: self._update_run_state(), names="value")
        tabs = W.Tab(children=[self.forms[x] for x in INSTRUMENTS], titles=INSTRUMENTS)
        self.params_tabs = tabs
        self.params_box = W.VBox(
            [
                W.HBox([W.HTML("<b>Instruments to run:</b>&nbsp;")] + list(self.instrument_boxes.values())),
                tabs,
            ]
        )

    @property
    def instruments(self) -> list[str]:
        return [x for x, b in self.instrument_boxes.items() if b.value]

    @instruments.setter
    def instruments(self, names: Sequence[str]) -> None:
        want = {spec(n).name for n in names}
        for x, b in self.instrument_boxes.items():
            b.value = x in want

    # ================================================================ run
    def _build_run(self) -> None:
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
        self.run_box = W.VBox(
            [
                W.HTML("<h3 style='margin:6px 0'>3. Run</h3>"),
                W.HBox([self.run_button, self.engine, self.selection_note]),
                self.run_message,
                self.progress,
                self.jobs_view,
            ]
        )
        self._prev_steps: dict[str, str] = {}
        self._active = False
        self._t_run = time.monotonic()
        self._update_run_state()

    def _engine_changed(self, change: dict) -> None:
        where = self.runner._where
        self.runner = JobRunner(change["new"], self.runner.scheduler)
        self.runner._where = where

    def problems(self) -> list[str]:
        """Why Run cannot start now (empty when it can)."""
        out = []
        if not self.table.selected:
            out.append("pick at least one observation in the search results")
        if not self.instruments:
            out.append("tick at least one instrument")
        for x in self.instruments:
            p = self.forms[x].problems
            if p:
                out.append(
                    f"{x} parameters: "
                    + "; ".join(f"{k.split('.')[-1]}: {', '.join(v)}" for k, v in p.items())
                )
        return out

    def _update_run_state(self) -> None:
        if not hasattr(self, "run_button"):
            return
        probs = self.problems()
        running = self._active
        self.run_button.disabled = bool(probs) or running
        if probs and not running:
            self.run_message.value = (
                "<span style='color:#8a5a00'>" + html.escape("To run: " + "; ".join(probs)) + "</span>"
            )
        elif not running and "color:#8a5a00" in self.run_message.value:
            self.run_message.value = ""

    def jobs(self) -> list[Job]:
        """The jobs the Run button would start: each selected observation × each ticked instrument it has."""
        jobs = []
        for row in self.table.selected:
            have = set(row.get("instruments") or INSTRUMENTS)
            for x in self.instruments:
                if x not in have:
                    continue
                key = f"{row.get('exp_id') or row['uri']}/{x}"
                label = f"{row.get('target', '')} {row.get('exp_id', '')} {x}".strip()
                jobs.append(
                    Job(
                        key=key,
                        instrument=x,
                        l1_dir=row["uri"],
                        out_dir=str(product_dir(self.products_dir, row.get("exp_id", ""), x)),
                        params=self.forms[x].params(),
                        label=label,
                    )
                )
        return jobs

    def run(self, wait: bool = False) -> threading.Thread | None:
        """What the Run button does; with ``wait`` block until the jobs finish (scripts and tests)."""
        probs = self.problems()
        if probs:
            self._say(self.run_message, "Cannot run: " + "; ".join(probs) + ".", error=True)
            return None
        if self._active or self.progress.running:
            self._say(self.run_message, "A run is already going; wait for it or press Cancel.", error=True)
            return None
        try:
            jobs = self.jobs()
        except ValidationError as exc:
            self._say(self.run_message, "Cannot run: " + plain_error(exc), error=True)
            return None
        if not jobs:
            self._say(
                self.run_message, "None of the selected observations has the ticked instruments.", error=True
            )
            return None
        rows = {j.key: r for r in self.table.selected for j in jobs if j.l1_dir == r["uri"]}
        self._prev_steps = {}
        self._t_run = time.monotonic()
        for j in jobs:
            self.job_labels[j.key] = j.label

        # observations of the data service are copied into the user's cache first (verified copies are
        # reused). Here, not in the job thread: Tiled's download installs a SIGINT handler, main thread only.
        fetched: dict[str, str] = {}
        for j in jobs:
            row = rows.get(j.key)
            if row is None or row.get("source") == "local":
                continue
            if row["uri"] not in fetched:
                self._say(
                    self.run_message, f"Fetching {row.get('exp_id') or row['uri']} from the data service…"
                )
                try:
                    fetched[row["uri"]] = str(self.archive.fetch(row))
                except Exception as exc:
                    self._say(self.run_message, "Cannot run: " + plain_error(exc), error=True)
                    return None
            j.l1_dir = fetched[row["uri"]]
        self._say(
            self.run_message,
            f"Running {len(jobs)} job{'s' if len(jobs) != 1 else ''} on "
            f"{'the Dask cluster' if self.runner.engine == 'dask' else 'this kernel'}…",
        )

        def job(progress: JobProgress, cancel: Any) -> dict:
            try:
                return self.runner.run(jobs, on_update=self._on_update, cancel=cancel)
            except Cancelled:
                self._active = False
                self._say(
                    self.run_message,
                    "Cancelled; nothing partial was kept. Earlier results are still shown.",
                    error=True,
                )
                self._update_run_state()
                raise

        self._active = True
        self.run_button.disabled = True
        thread = self.progress.run_in_thread(
            job, title=f"HXMT pipelines: {len(jobs)} job(s)", on_success=self._finished, on_error=self._failed
        )
        if wait:
            thread.join()
        return thread

    def cancel(self) -> None:
        """What the Cancel button does."""
        self.progress.cancel()

    def wait(self, timeout: float | None = None) -> None:
        if self.progress.thread is not None:
            self.progress.thread.join(timeout)

    def _on_update(self, states: list[JobState]) -> None:
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
        self._active = False
        ok, failed = {}, {}
        for key, r in out.items():
            (failed if isinstance(r, BaseException) else ok)[key] = r
        with self._lock:
            self.results.update(ok)
            for key in failed:
                self.results.pop(key, None)
        for key, r in ok.items():
            cached = r.get("steps_cached") or []
            self.progress.log(
                f"{self.job_labels.get(key, key)}: ran {', '.join(r['steps_run']) or 'nothing'}"
                + (f"; reused cached {', '.join(cached)}" if cached else "")
            )
        msgs = [f"{self.job_labels.get(k, k)}: {plain_error(e)}" for k, e in failed.items()]
        for m in msgs:
            self.progress.log(m)
        if failed:
            self._say(
                self.run_message, ("Done with problems. " if ok else "Failed. ") + " ".join(msgs), error=True
            )
            self.progress.finish("failed" if not ok else "done")
        else:
            self._say(self.run_message, f"Done: {len(ok)} job{'s' if len(ok) != 1 else ''}.")
        self._refresh_results(prefer=next(iter(ok), None))
        self._update_run_state()

    def _failed(self, exc: BaseException) -> None:
        self._active = False
        self._say(self.run_message, "Run failed: " + plain_error(exc), error=True)
        self._update_run_state()

    # ================================================================ results
    def _build_results(self) -> None:
        self.result_choice = W.Dropdown(options=[], description="show", layout=W.Layout(width="420px"))
        self.result_choice.observe(lambda _c: self.show(self.result_choice.value), names="value")
        self.lc_plot, self.spec_plot = LightCurvePlot(), SpectrumPlot()
        self.pds_plot, self.profile_plot = PowerSpectrumPlot(), ProfilePlot()
        self.plots = {
            "lc": self.lc_plot,
            "spectrum": self.spec_plot,
            "pds": self.pds_plot,
            "profile": self.profile_plot,
        }
        self.exports: dict[str, PlotExport] = {}
        cells = []
        for name, p in self.plots.items():
            p.figure.add_class(f"daisy-hxmt-plot-{name}")
            exp = PlotExport(p.figure, f"{name}.png")
            self.exports[name] = exp
            reset = W.Button(description="reset zoom", layout=W.Layout(width="110px"))
            reset.on_click(lambda _b, p=p: p.reset_zoom())
            cells.append(W.VBox([p.figure, W.HBox([exp, reset])]))
        self.plot_grid = W.GridBox(cells, layout=W.Layout(grid_template_columns="repeat(2, 580px)"))
        self.summary = W.HTML("")
        self.summary.add_class("daisy-hxmt-summary")
        self.file_links = FileLinks()
        self.file_links.add_class("daisy-hxmt-files")
        self.results_box = W.VBox(
            [
                W.HTML("<h3 style='margin:6px 0'>4. Results</h3>"),
                self.summary,
                self.result_choice,
                self.plot_grid,
                W.HTML("<b>Product files</b>"),
                self.file_links,
            ]
        )

    @property
    def summary_rows(self) -> list[dict]:
        """One row per finished job: label, GTI and live exposure (s), rates (count/s)."""
        with self._lock:
            items = list(self.results.items())
        return [{"job": self.job_labels.get(k, k), "key": k, **r["summary"]} for k, r in items]

    def _refresh_results(self, prefer: str | None = None) -> None:
        rows = self.summary_rows
        f = lambda v, p="{:.1f}": "" if v is None else p.format(v)  # noqa: E731
        body = "".join(
            f"<tr><td>{html.escape(r['job'])}</td><td>{f(r['gti_seconds'])}</td><td>{f(r['exposure'])}</td>"
            f"<td>{f(r['n_events'], '{:d}')}</td><td>{f(r['rate'], '{:.2f}')}</td><td>{f(r['bkg_rate'], '{:.2f}')}</td>"
            f"<td>{f(r['net_rate'], '{:.2f}')}</td></tr>"
            for r in rows
        )
        self.summary.value = (
            (
                "<table style='border-collapse:collapse' cellpadding=3><tr><th align=left>job</th>"
                "<th>good time (s)</th><th>live exposure (s)</th><th>events</th><th>rate (count/s)</th>"
                f"<th>background (count/s)</th><th>net (count/s)</th></tr>{body}</table>"
            )
            if rows
            else ""
        )
        opts = [(self.job_labels.get(r["key"], r["key"]), r["key"]) for r in rows]
        cur = self.result_choice.value
        want = (
            prefer
            if prefer in dict((v, 1) for _, v in opts)
            else (cur if cur in [v for _, v in opts] else (opts[0][1] if opts else None))
        )
        self.result_choice.options = opts
        if want is None:
            self.show(None)
        else:
            if self.result_choice.value == want:
                self.show(want)
            else:
                self.result_choice.value = want

    @property
    def shown(self) -> str | None:
        return self.result_choice.value

    def show(self, key: str | None) -> None:
        """Draw the plots, files and export folder of one job (``<exp_id>/<instrument>``)."""
        r = self.results.get(key) if key else None
        if r is None:
            for p in self.plots.values():
                p.clear()
            self.file_links.set_files([])
            return
        x = key.split("/")[-1]
        bkg = self.forms[x].background.value if x in self.forms else True
        scr = self.forms[x].screen.coerced if x in self.forms else {}
        s = spec(x)
        pr = (
            scr.get("pi_min") if scr.get("pi_min") is not None else s.band[0],
            scr.get("pi_max") if scr.get("pi_max") is not None else s.band[1],
        )
        self.lc_plot.update(r["lc"], r["bkg_lc"], r["gti"], show_background=bkg)
        self.spec_plot.update(r["spectrum"], r["bkg_spectrum"], show_background=bkg, pi_range=pr)
        self.pds_plot.update(r.get("pds"))
        self.profile_plot.update(r.get("profile"))
        label = self.job_labels.get(key, key)
        for p in self.plots.values():
            p.figure.title = p.figure.title.split(" — ")[0] + f" — {label}"
        out = Path(r["files"][0]).parent if r["files"] else self.products_dir
        for name, e in self.exports.items():
            e.directory = out
            e.filename = f"{x}_{name}.png"
            e.link.value = ""
        self.file_links.set_files(r["files"])

    @property
    def files(self) -> list[Path]:
        """Product files of the job shown."""
        return list(self.file_links.files)

    def export_png(self, name: str) -> Path | None:
        """What a plot's PNG button does (``lc``, ``spectrum``, ``pds``, ``profile``); returns the file written."""
        return self.exports[name].export()

    # ================================================================ helpers
    @staticmethod
    def _say(widget: W.HTML, text: str, error: bool = False) -> None:
        color = "#c00" if error else "#060"
        widget.value = f"<span style='color:{color}'>{html.escape(text)}</span>"


def main() -> HxmtApp:
    """Build the app (what ``apps/hxmt.ipynb`` does)."""
    return HxmtApp()


__all__ = ["HxmtApp", "plain_error", "Cancelled"]
