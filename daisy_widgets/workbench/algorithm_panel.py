"""The algorithm toolbox: every registered algorithm by category, with search; its form; Run.

Selecting an algorithm shows its form, generated from its declaration: a picker
per input port (the objects of the session's store), the parameter form
(:class:`~daisy_widgets.widgets.form.ParamForm`), where each output goes, and the
engine (in-process or Dask). *Run* checks everything first (:class:`.algorithms.RunRequest`):
a missing or wrongly shaped input, a bad parameter is shown at its field and in the
log, and nothing runs. Otherwise the step runs through the engine in a background
thread with progress and Cancel (:class:`~daisy_widgets.widgets.progress.JobProgress`);
its outputs go into the store (and show in the data toolbox), and the equivalent
Python line goes to the console (``on_replay`` callbacks).

CSS classes: ``daisy-algorithm-toolbox``, ``daisy-alg-search``, ``daisy-alg-count``, ``daisy-alg-list``,
``daisy-alg-category``, ``daisy-alg-item`` (one per algorithm, text = its name),
``daisy-alg-form``, ``daisy-alg-title``, ``daisy-alg-in-<port>`` (picker),
``daisy-alg-field-error`` (message next to an input or output), ``daisy-alg-out-<port>``,
``daisy-alg-engine``, ``daisy-alg-run``, ``daisy-alg-message``, ``daisy-wb-open-builder``; the form's
``daisy-param-*`` and the progress's ``daisy-job-*`` classes.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from ..core.errors import DaisyError
from ..widgets.form import ParamForm
from ..widgets.progress import JobProgress
from .algorithms import RunRequest, default_output_key, registered, search_algorithms
from .events import EventLog
from .objects import SessionObjects


def _error_html(msgs: list[str]) -> str:
    return f"<span style='color:#c00'>⚠ {html.escape('; '.join(msgs))}</span>" if msgs else ""


class AlgorithmToolbox(W.VBox):
    """The algorithm toolbox panel.

    Parameters
    ----------
    objects
        The session's objects (inputs are picked from its store, outputs written to it).
    log
        The session's log (each run's events, warnings and errors).
    dask_engine
        Engine used when "Dask" is chosen (default: the shared LocalCluster engine).
    """

    def __init__(self, objects: SessionObjects, log: EventLog, dask_engine: Any = None, **kw: Any):
        self.objects = objects
        self.events = log
        self._dask_engine = dask_engine
        self._replay_callbacks: list[Callable[[str], None]] = []
        self._run_count = 0
        self.algorithm: str | None = None
        self.search = W.Text(placeholder="search algorithms", layout=W.Layout(width="95%"))
        self.search.add_class("daisy-alg-search")
        self.search.observe(lambda _c: self.show_list(), names="value")
        self.list_box = W.VBox([], layout=W.Layout(max_height="260px", overflow_y="auto"))
        self.list_box.add_class("daisy-alg-list")
        self.count = W.HTML("")
        self.count.add_class("daisy-alg-count")
        self.title = W.HTML("<i>pick an algorithm</i>")
        self.title.add_class("daisy-alg-title")
        self.inputs_box = W.VBox([])
        self.form_box = W.VBox([])
        self.outputs_box = W.VBox([])
        self.engine = W.ToggleButtons(
            options=[("in-process", "inprocess"), ("Dask", "dask")], value="inprocess"
        )
        self.engine.style.button_width = "90px"
        self.engine.add_class("daisy-alg-engine")
        self.run_button = W.Button(description="Run", icon="play", button_style="success", disabled=True)
        self.run_button.add_class("daisy-alg-run")
        self.run_button.on_click(lambda _b: self.run())
        self.message = W.HTML("")
        self.message.add_class("daisy-alg-message")
        self.progress = JobProgress("Run")
        self.form: ParamForm | None = None
        self.input_pickers: dict[str, W.Dropdown] = {}
        self.input_errors: dict[str, W.HTML] = {}
        self.output_fields: dict[str, W.Text] = {}
        self.output_errors: dict[str, W.HTML] = {}
        form = W.VBox(
            [
                self.title,
                self.inputs_box,
                self.form_box,
                self.outputs_box,
                W.HBox([self.engine, self.run_button]),
                self.message,
                self.progress,
            ]
        )
        form.add_class("daisy-alg-form")
        self.builder_button = W.Button(
            description="Workflow builder",
            icon="sitemap",
            tooltip="build, run and save a workflow of several steps",
        )
        self.builder_button.add_class("daisy-wb-open-builder")
        head = W.HBox([W.HTML("<b>Algorithms</b>"), self.builder_button])
        super().__init__([head, self.search, self.count, self.list_box, form], **kw)
        self.add_class("daisy-algorithm-toolbox")
        objects.on_change(lambda _o: self._refresh_pickers())
        self.show_list()

    # -- the list ----------------------------------------------------------------------------
    def show_list(self) -> dict[str, list[str]]:
        """Show the algorithms matching the search box, by category; returns what is shown."""
        groups = search_algorithms(self.search.value)
        algos = registered()
        rows: list[W.Widget] = []
        for category, names in groups.items():
            head = W.HTML(f"<b>{html.escape(category)}</b>", layout=W.Layout(flex="0 0 auto"))
            head.add_class("daisy-alg-category")
            rows.append(head)
            for name in names:
                b = W.Button(
                    description=name,
                    tooltip=algos[name].summary(),
                    layout=W.Layout(width="95%", height="26px", flex="0 0 auto"),
                )
                b.add_class("daisy-alg-item")
                if name == self.algorithm:
                    b.button_style = "info"
                b.on_click(lambda _b, n=name: self.select(n))
                rows.append(b)
        if not rows:
            rows.append(W.HTML(f"<i>no algorithm matches {html.escape(self.search.value)!r}</i>"))
        self.list_box.children = tuple(rows)
        n = sum(len(v) for v in groups.values())
        query = self.search.value.strip()
        self.count.value = f"{n} algorithm(s)" + (f" matching '{html.escape(query)}'" if query else "")
        return groups

    # -- the form ----------------------------------------------------------------------------
    def select(self, name: str) -> None:
        """Show the form of algorithm ``name``."""
        cls = registered()[name]
        self.algorithm = name
        self.title.value = (
            f"<b>{html.escape(name)}</b> <span style='color:#666'>{html.escape(cls.category or '')}</span>"
            f"<div>{html.escape(cls.summary())}</div>"
        )
        keys = [""] + sorted(self.objects.store.keys())
        self.input_pickers, self.input_errors = {}, {}
        rows = []
        for port in cls.inputs:
            dd = W.Dropdown(
                options=keys,
                value=self._guess_input(port.name, keys),
                description=f"in: {port.name}",
                tooltip=port.help,
                style={"description_width": "initial"},
                layout=W.Layout(width="260px"),
            )
            dd.add_class(f"daisy-alg-in-{port.name}")
            dd.observe(lambda _c: self._update_outputs(), names="value")
            err = W.HTML("")
            err.add_class("daisy-alg-field-error")
            self.input_pickers[port.name], self.input_errors[port.name] = dd, err
            rows.append(W.VBox([dd, err]))
        self.inputs_box.children = tuple(rows)
        self.form = ParamForm(cls)
        self.form_box.children = (self.form,)
        self.output_fields, self.output_errors = {}, {}
        out_rows = []
        for port in cls.outputs:
            t = W.Text(
                description=f"out: {port.name}",
                style={"description_width": "initial"},
                tooltip=port.help,
                layout=W.Layout(width="260px"),
            )
            t.add_class(f"daisy-alg-out-{port.name}")
            err = W.HTML("")
            err.add_class("daisy-alg-field-error")
            self.output_fields[port.name], self.output_errors[port.name] = t, err
            out_rows.append(W.VBox([t, err]))
        self.outputs_box.children = tuple(out_rows)
        self._update_outputs()
        self.message.value = ""
        self.run_button.disabled = False
        self.show_list()

    def _guess_input(self, port: str, keys: list[str]) -> str:
        if self.objects.selected_hint in keys:
            return self.objects.selected_hint
        return port if port in keys else ""

    def _update_outputs(self) -> None:
        if self.algorithm is None:
            return
        cls = registered()[self.algorithm]
        first = next((d.value for d in self.input_pickers.values() if d.value), None)
        for port, field in self.output_fields.items():
            field.placeholder = default_output_key(self.algorithm, first, port, len(cls.outputs))

    def _refresh_pickers(self) -> None:
        keys = [""] + sorted(self.objects.store.keys())
        for dd in self.input_pickers.values():
            current = dd.value
            dd.options = keys
            dd.value = current if current in keys else ""

    def request(self) -> RunRequest:
        """The run as the form stands (not validated)."""
        if self.algorithm is None:
            raise DaisyError("pick an algorithm first")
        return RunRequest(
            algorithm=self.algorithm,
            params=self.form.values if self.form else {},
            inputs={p: d.value or "" for p, d in self.input_pickers.items()},
            outputs={p: t.value.strip() for p, t in self.output_fields.items() if t.value.strip()},
            engine=self.engine.value,
        )

    def show_problems(self, problems: dict[str, list[str]]) -> None:
        """Show each problem next to its field (inputs, parameters, outputs)."""
        for port, err in self.input_errors.items():
            err.value = _error_html(problems.get(port, []))
        for port, err in self.output_errors.items():
            err.value = _error_html(problems.get(f"output:{port}", []))
        if self.form is not None:
            self.form.refresh()

    # -- running -----------------------------------------------------------------------------
    def on_replay(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(line)`` with the equivalent Python line after each successful run."""
        self._replay_callbacks.append(callback)

    def _engine(self) -> Any:
        from ..core.engine import InProcessEngine, get_dask_engine

        return (self._dask_engine or get_dask_engine()) if self.engine.value == "dask" else InProcessEngine()

    def run(self) -> Any:
        """Check, then run in a background thread; returns the thread, or None when the form has problems."""
        if self.progress.running:
            self._say("a run is already going; cancel it first", error=True)
            return None
        self._run_count += 1
        label = f"run {self._run_count}"
        try:
            req = self.request()
            problems = req.problems(self.objects.store)
        except (DaisyError, KeyError) as exc:
            problems = {"": [str(exc)]}
        self.show_problems(problems)
        if problems:
            text = "; ".join(f"{k}: {', '.join(v)}" if k else ", ".join(v) for k, v in problems.items())
            self.events.error(f"not run: {text}", run=label, step=self.algorithm or "")
            self._say(f"not run: {text}", error=True)
            return None
        wf, outputs = req.workflow(), req.output_keys()
        step = wf.steps[0]
        store = self.objects.store.copy()
        inputs = {p: store[k] for p, k in step.inputs.items()}
        engine = self._engine()
        self.events.info(
            f"{req.algorithm} on {', '.join(step.inputs.values()) or 'no input'} ({req.engine})",
            run=label,
            step=step.id,
        )
        log_progress = self.events.progress(label)
        self.run_button.disabled = True
        t0 = time.monotonic()

        def progress(ev: Any) -> None:
            self.progress(ev)
            log_progress(ev)

        def job(_progress: Any, cancel: Any) -> dict[str, Any]:
            result = engine.run(wf, store, progress=progress, cancel=cancel, release=False)
            return {k: (result.compute(k), dict(result.attrs(k))) for k in outputs.values()}

        def done(values: dict[str, Any]) -> None:
            names = []
            for key, (value, attrs) in values.items():
                names.append(self.objects.put(key, value, attrs))
                self.events.info(
                    f"wrote {key} {getattr(value, 'shape', '')} {getattr(value, 'dtype', '')}",
                    run=label,
                    step=step.id,
                )
            from .replay import remember

            remember(
                req.algorithm, step.params, req.engine, inputs, {p: values[k][0] for p, k in outputs.items()}
            )
            line = req.replay_line()
            self._say(f"done in {time.monotonic() - t0:.2f} s: {', '.join(outputs.values())}")
            for cb in self._replay_callbacks:
                cb(line)

        def failed(exc: BaseException) -> None:
            where = getattr(exc, "step", "") or step.id
            self.events.error(f"{type(exc).__name__}: {exc}", run=label, step=str(where))
            self._say(f"{type(exc).__name__}: {exc}", error=True)
            probs = getattr(exc, "problems", None)
            if isinstance(probs, dict):
                self.show_problems(
                    {k: list(v) if isinstance(v, (list, tuple)) else [str(v)] for k, v in probs.items()}
                )

        thread = self.progress.run_in_thread(
            job, title=f"{req.algorithm} ({label})", on_success=done, on_error=failed
        )

        def reenable() -> None:
            thread.join()
            self.run_button.disabled = False
            if self.progress.status.value == "cancelled":
                self.events.warning("cancelled: nothing written", run=label, step=step.id)
                self._say("cancelled: the store is unchanged")

        import threading

        threading.Thread(target=reenable, daemon=True).start()
        return thread

    def _say(self, text: str, error: bool = False) -> None:
        color = "#c00" if error else "#060"
        self.message.value = f"<div style='color:{color}'>{html.escape(text)}</div>" if text else ""
