"""Build, parameterise, save, load and run a workflow without writing code (ipywidgets).

Pick an algorithm from the registry and *Add step*; each step shows the form
generated from the algorithm's declaration (invalid values are marked next to
the field), its wiring (data-store keys read and written, pre-filled so that
a new step reads what the previous one wrote), and buttons to move it up or
down or remove it. *Save*/*Load* write and read workflow JSON; *Insert as step*
adds a saved workflow as one sub-workflow step (kept nested when saved). *Run* validates
the whole workflow, then runs it in a background thread (the kernel stays
free) with a progress bar and a Cancel button; the result store is listed
below and kept in :attr:`WorkflowBuilder.result`.

Nothing here knows a technique: the algorithms come from the registry. The step boxes
are in :mod:`.workflow_steps`.

CSS classes (stable, for browser tests)::

    daisy-workflow-builder   the whole widget
    daisy-wb-name            workflow name (text input)
    daisy-wb-algorithm       algorithm drop-down (<select>; option text "<name> — <summary>")
    daisy-wb-add             "Add step" button
    daisy-wb-refresh         re-read the registry (new plug-ins)
    daisy-wb-steps           the list of steps
    daisy-wb-step            one step box; also daisy-wb-step-<index> (0-based)
    daisy-wb-step-title      its title ("1. scale — core.scale")
    daisy-wb-up / daisy-wb-down / daisy-wb-remove   its buttons
    daisy-wb-in-<port> / daisy-wb-out-<port>        its wiring fields
    daisy-param-<name> (row) / daisy-param-field / daisy-param-error   its form
    daisy-wb-path            JSON file path (text input)
    daisy-wb-save / daisy-wb-load                   buttons
    daisy-wb-insert          "Insert as step": the workflow in the file becomes one sub-workflow step
    daisy-wb-sub             a sub-workflow step box (with daisy-wb-step); daisy-wb-sub-summary lists its steps
    daisy-wb-persist         keys kept after the run (text input, comma-separated)
    daisy-wb-engine          engine choice (toggle buttons "in-process" / "Dask")
    daisy-wb-check           "Check" button (validate without running)
    daisy-wb-run             "Run" button
    daisy-wb-message         validation / status message
    daisy-job-progress, daisy-job-bar, daisy-job-status, daisy-job-cancel, daisy-job-log  (progress)
    daisy-wb-result          listing of the result store
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as W

from ..core.datastore import DataStore
from ..core.errors import DaisyError
from ..core.workflow import Step, Workflow
from .progress import JobProgress
from .workflow_steps import StepEditor, StepRow, SubWorkflowEditor


def _registry() -> dict[str, type]:
    import warnings

    from ..core import registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", registry.PluginWarning)
        return registry.algorithms()


class WorkflowBuilder(W.VBox):
    """The workflow builder widget.

    Parameters
    ----------
    store
        Data store the workflow runs on (its keys are offered as inputs); a new one if None.
    workflow
        A workflow to start from.
    engine
        Default engine, ``"inprocess"`` or ``"dask"``.
    dask_engine
        Engine used when "Dask" is chosen (default: the shared LocalCluster engine).
    path
        Default JSON file for Save/Load.
    """

    def __init__(
        self,
        store: DataStore | None = None,
        workflow: Workflow | None = None,
        *,
        engine: str = "inprocess",
        dask_engine: Any = None,
        path: str = "workflow.json",
        **kw: Any,
    ):
        self.store = store if store is not None else DataStore()
        self.result: DataStore | None = None
        self._dask_engine = dask_engine
        self._listeners: list[Callable[[WorkflowBuilder], None]] = []
        algos = _registry()
        self.name = W.Text(value="workflow", description="name", layout=W.Layout(width="260px"))
        self.name.add_class("daisy-wb-name")
        self.picker = W.Dropdown(
            options=[(f"{n} — {c.summary()}", n) for n, c in algos.items()],
            description="algorithm",
            layout=W.Layout(width="520px"),
        )
        self.picker.add_class("daisy-wb-algorithm")
        self.refresh_button = W.Button(
            icon="refresh",
            tooltip="look for newly installed algorithm plug-ins",
            layout=W.Layout(width="36px"),
        )
        self.refresh_button.add_class("daisy-wb-refresh")
        self.refresh_button.on_click(lambda _b: self.refresh_algorithms())
        self.add_button = W.Button(description="Add step", icon="plus", button_style="primary")
        self.add_button.add_class("daisy-wb-add")
        self.add_button.on_click(lambda _b: self._add_from_picker())
        self.steps_box = W.VBox([])
        self.steps_box.add_class("daisy-wb-steps")
        self.path = W.Text(value=path, description="file", layout=W.Layout(width="360px"))
        self.path.add_class("daisy-wb-path")
        self.save_button = W.Button(description="Save", icon="save")
        self.save_button.add_class("daisy-wb-save")
        self.save_button.on_click(lambda _b: self._ui(self.save))
        self.load_button = W.Button(description="Load", icon="folder-open")
        self.load_button.add_class("daisy-wb-load")
        self.load_button.on_click(lambda _b: self._ui(self.load))
        self.insert_button = W.Button(
            description="Insert as step",
            icon="sitemap",
            tooltip="add the workflow saved in this file as one step (a sub-workflow)",
        )
        self.insert_button.add_class("daisy-wb-insert")
        self.insert_button.on_click(lambda _b: self._ui(self.insert_workflow))
        self.engine = W.ToggleButtons(
            options=[("in-process", "inprocess"), ("Dask", "dask")],
            value=engine,
            tooltips=["run in this kernel", "run on a Dask cluster (LocalCluster by default)"],
        )
        self.engine.add_class("daisy-wb-engine")
        self.check_button = W.Button(
            description="Check",
            icon="check",
            tooltip="validate algorithms, parameters and wiring without running",
        )
        self.check_button.add_class("daisy-wb-check")
        self.check_button.on_click(lambda _b: self._ui(self.validate))
        self.persist_field = W.Text(
            value="",
            description="keep",
            placeholder="keys kept after the run, comma-separated",
            tooltip="data-store keys (or groups) to persist; saved by 'daisy workflow run --output'",
            layout=W.Layout(width="420px"),
        )
        self.persist_field.add_class("daisy-wb-persist")
        self.run_button = W.Button(description="Run", icon="play", button_style="success")
        self.run_button.add_class("daisy-wb-run")
        self.run_button.on_click(lambda _b: self._ui(self.run))
        self.message = W.HTML(value="")
        self.message.add_class("daisy-wb-message")
        self.inputs_label = W.HTML()
        self.progress = JobProgress("Run")
        self.result_view = W.HTML(value="")
        self.result_view.add_class("daisy-wb-result")
        self.editors: list[StepRow] = []
        super().__init__(
            children=[
                W.HBox([self.name, self.inputs_label]),
                W.HBox([self.picker, self.add_button, self.refresh_button]),
                self.steps_box,
                W.HBox([self.path, self.save_button, self.load_button, self.insert_button]),
                self.persist_field,
                W.HBox([self.engine, self.check_button, self.run_button]),
                self.message,
                self.progress,
                self.result_view,
            ],
            **kw,
        )
        self.add_class("daisy-workflow-builder")
        self._show_inputs()
        if workflow is not None:
            self.set_workflow(workflow)

    def refresh_algorithms(self) -> None:
        """Re-read the registry (e.g. after ``pip install`` of a plug-in) and update the picker."""
        from ..core import registry

        registry.refresh()
        current = self.picker.value
        algos = _registry()
        self.picker.options = [(f"{n} — {c.summary()}", n) for n, c in algos.items()]
        if current in algos:
            self.picker.value = current
        self._say(f"{len(algos)} algorithm(s) registered")

    # -- steps ---------------------------------------------------------------------------
    def add_step(
        self,
        algorithm: str,
        params: dict | None = None,
        inputs: dict | None = None,
        outputs: dict | None = None,
        step_id: str | None = None,
    ) -> StepEditor:
        """Append a step; unspecified wiring reads the previous step's output and writes ``work/<id>``."""
        cls = _registry()[algorithm]
        sid = step_id or self._unique_id(algorithm.split(".")[-1])
        if inputs is None:
            prev = self.editors[-1].to_step().outputs if self.editors else {}
            prev_keys = list(prev.values())
            first_in = prev_keys[0] if prev_keys else next(iter(self.store.keys()), "")
            inputs = {p.name: first_in for p in cls.inputs if not p.optional}
        if outputs is None:
            outs = [p.name for p in cls.outputs]
            outputs = {o: (f"work/{sid}" if len(outs) == 1 else f"work/{sid}/{o}") for o in outs}
        ed = StepEditor(
            self, cls, Step(id=sid, algorithm=algorithm, params=params or {}, inputs=inputs, outputs=outputs)
        )
        self.editors.append(ed)
        self._redraw()
        return ed

    def add_subworkflow(
        self,
        workflow: Workflow,
        inputs: dict | None = None,
        outputs: dict | None = None,
        step_id: str | None = None,
    ) -> SubWorkflowEditor:
        """Append ``workflow`` as one step. Unspecified wiring: each inner input reads the previous
        step's output (or the store key of the same name), and what the inner workflow persists
        (else its last step's outputs) is written to ``work/<id>/<key>``."""
        sid = step_id or self._unique_id(workflow.name.replace(" ", "_") or "sub")
        if inputs is None:
            prev = list(self.editors[-1].to_step().outputs.values()) if self.editors else []
            keys = self.store.keys()
            inputs = {
                k: (prev[0] if prev else (k if k in keys else next(iter(keys), "")))
                for k in workflow.required_keys()
            }
        if outputs is None:
            exposed = workflow.persist or (
                list(workflow.steps[-1].outputs.values()) if workflow.steps else []
            )
            outputs = {k: f"work/{sid}/{k}" for k in exposed}
        ed = SubWorkflowEditor(self, Step(id=sid, workflow=workflow, inputs=inputs, outputs=outputs))
        self.editors.append(ed)
        self._redraw()
        return ed

    def insert_workflow(self, path: str | None = None) -> SubWorkflowEditor:
        """What *Insert as step* does: read the workflow JSON at ``path`` (default: the file field)
        and append it as one sub-workflow step."""
        p = path or self.path.value
        wf = Workflow.load(p)
        self._check_algorithms(wf)
        ed = self.add_subworkflow(wf)
        self._say(f"inserted {p} as step '{ed.step_id.value}' ({len(wf.flatten())} inner step(s))")
        return ed

    def remove_step(self, editor: StepRow) -> None:
        self.editors.remove(editor)
        self._redraw()

    def move_step(self, editor: StepRow, delta: int) -> None:
        i = self.editors.index(editor)
        j = min(max(i + delta, 0), len(self.editors) - 1)
        self.editors[i], self.editors[j] = self.editors[j], self.editors[i]
        self._redraw()

    def _unique_id(self, base: str) -> str:
        ids = {e.step_id.value for e in self.editors}
        if base not in ids:
            return base
        n = 2
        while f"{base}_{n}" in ids:
            n += 1
        return f"{base}_{n}"

    def _add_from_picker(self) -> None:
        if self.picker.value:
            self.add_step(self.picker.value)

    def _redraw(self) -> None:
        for i, ed in enumerate(self.editors):
            for c in list(ed._dom_classes):
                if c.startswith("daisy-wb-step-") and c[len("daisy-wb-step-") :].isdigit():
                    ed.remove_class(c)
            ed.add_class(f"daisy-wb-step-{i}")
            ed.title.value = f"<b>{i + 1}. {html.escape(ed.label)}</b>"
            ed.up.disabled = i == 0
            ed.down.disabled = i == len(self.editors) - 1
        self.steps_box.children = tuple(self.editors)
        self._changed()

    # -- the workflow ----------------------------------------------------------------------
    @property
    def workflow(self) -> Workflow:
        """The workflow as currently edited (values as typed; validated on run)."""
        persist = [k.strip() for k in self.persist_field.value.split(",") if k.strip()]
        return Workflow(
            name=self.name.value.strip() or "workflow",
            steps=[e.to_step() for e in self.editors],
            persist=persist,
        )

    def set_workflow(self, wf: Workflow) -> None:
        """Replace the steps by those of ``wf``; a sub-workflow stays one step (saved back nested)."""
        algos = self._check_algorithms(wf)
        self.editors = []
        self.name.value = wf.name
        self.persist_field.value = ", ".join(wf.persist)
        for st in wf.steps:
            self.editors.append(
                SubWorkflowEditor(self, st)
                if st.workflow is not None
                else StepEditor(self, algos[st.algorithm], st)
            )
        self._redraw()

    @staticmethod
    def _check_algorithms(wf: Workflow) -> dict[str, type]:
        """The registry; an error naming the step when ``wf`` (or a sub-workflow) uses an unknown algorithm."""
        algos = _registry()
        for path, st in wf.flatten():
            if st.algorithm not in algos:
                raise DaisyError(f"workflow '{wf.name}', step '{path}': unknown algorithm {st.algorithm!r}")
        return algos

    def validate(self) -> dict[str, list[str]] | None:
        """Check the workflow against the store; show and return the problems (None if valid)."""
        try:
            self.workflow.validate(available=self.store.keys())
        except DaisyError as exc:
            self._say(str(exc), error=True)
            return getattr(exc, "problems", {"": [str(exc)]})
        self._say("workflow is valid")
        return None

    def save(self, path: str | None = None) -> Path:
        p = Path(path or self.path.value)
        out = self.workflow.save(p)
        self._say(f"saved {out}")
        return out

    def load(self, path: str | None = None) -> Workflow:
        wf = Workflow.load(path or self.path.value)
        self.set_workflow(wf)
        self._say(f"loaded {path or self.path.value}: {len(wf.flatten())} step(s)")
        return wf

    # -- running -----------------------------------------------------------------------------
    def _engine(self) -> Any:
        from ..core.engine import InProcessEngine, get_dask_engine

        if self.engine.value == "dask":
            return self._dask_engine or get_dask_engine()
        return InProcessEngine()

    def run(self) -> Any:
        """Validate, then run in a background thread; returns the thread (or None if invalid)."""
        if self.progress.running:
            self._say("a run is already going; cancel it first", error=True)
            return None
        if self.validate() is not None:
            return None
        wf = self.workflow
        store = self.store.copy()
        engine = self._engine()
        self.result_view.value = ""
        self.run_button.disabled = True

        def job(progress: Any, cancel: Any) -> DataStore:
            # keep every intermediate object: the builder is for exploring (the store is a copy)
            return engine.run(wf, store, progress=progress, cancel=cancel, release=False)

        def done(result: DataStore) -> None:
            self.result = result
            self.result_view.value = "<pre>" + html.escape(result.tree()) + "</pre>"
            self._say(f"finished '{wf.name}'")
            self.run_button.disabled = False
            for cb in self._listeners:
                cb(self)

        def failed(exc: BaseException) -> None:
            self._say(f"{type(exc).__name__}: {exc}", error=True)
            self.run_button.disabled = False

        t = self.progress.run_in_thread(job, title=f"Run '{wf.name}'", on_success=done, on_error=failed)

        def reenable() -> None:  # also after a cancel
            t.join()
            self.run_button.disabled = False
            if self.progress.status.value == "cancelled":
                self._say("cancelled: the store is unchanged")

        import threading

        threading.Thread(target=reenable, daemon=True).start()
        return t

    def on_result(self, callback: Callable[[WorkflowBuilder], None]) -> None:
        """Call ``callback(builder)`` after each successful run (e.g. to show the result in a viewer)."""
        self._listeners.append(callback)

    # -- helpers ------------------------------------------------------------------------------
    def _show_inputs(self) -> None:
        keys = self.store.keys()
        self.inputs_label.value = ("store: " + html.escape(", ".join(keys))) if keys else "store: empty"

    def _changed(self) -> None:
        bad = [e.step_id.value for e in self.editors if not e.valid]
        if bad:
            self._say("invalid parameters in step(s): " + ", ".join(bad), error=True)
        else:
            self._say("")

    def _say(self, text: str, error: bool = False) -> None:
        color = "#c00" if error else "#060"
        self.message.value = (
            f"<pre style='color:{color};margin:0'>{html.escape(text, quote=False)}</pre>" if text else ""
        )

    def _ui(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except DaisyError as exc:
            self._say(str(exc), error=True)
        except OSError as exc:
            self._say(f"{type(exc).__name__}: {exc}", error=True)
