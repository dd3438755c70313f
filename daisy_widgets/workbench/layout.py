"""The Daisy Workbench in JupyterLab: Daisy's panels docked around the editor, with a console on the same kernel.

:class:`Workbench` holds the session (:class:`.objects.SessionObjects`, the
:class:`.events.EventLog`) and its panels; :meth:`Workbench.dock` puts them into
JupyterLab's shell through ipylab (a Python handle on JupyterLab's front end):

* left: the data toolbox; right: the algorithm toolbox; bottom ("down" area): the log
  and status panel; main: the workbench notebook (the editor) and, below it, a
  console attached to the same kernel (``console:create`` with the kernel's id);
* plot windows and the workflow builder open as tabs of the bottom area, beside the log.

:func:`start_workbench` is what the "Daisy Workbench" kernel runs first
(:mod:`.kernel`): it hooks the console's namespace to the store (after each cell)
and docks the panels when JupyterLab connects (``on_ready``). Docking happens
once per kernel: ipylab keeps the docked panels in its shell model, and a
reloaded page re-docks them itself.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import ipywidgets as W

from ..core.datastore import DataStore
from .algorithm_panel import AlgorithmToolbox
from .data_panel import DataToolbox
from .events import EventLog
from .log_panel import LogPanel
from .objects import SessionObjects
from .plots import plot_window

#: session path (relative to the server's root) of the workbench's console
CONSOLE_NAME = "daisy-console"
#: DOM ids of the docked panels
PANEL_IDS = {"data": "daisy-wb-data", "algorithms": "daisy-wb-algorithms", "log": "daisy-wb-log"}
#: DOM id of the workflow builder's tab (opened on demand)
BUILDER_ID = "daisy-wb-builder"

_WORKBENCH: Workbench | None = None


def _kernel_id() -> str | None:
    """The id of this kernel (from its connection file ``kernel-<id>.json``), or None outside a kernel."""
    try:
        from ipykernel.connect import get_connection_file

        stem = Path(get_connection_file()).stem
    except Exception:
        return None
    return stem[len("kernel-") :] if stem.startswith("kernel-") else None


def _lab_dir() -> str:
    """The folder of the workbench notebook relative to the server's root, when ``$JPY_SESSION_NAME``
    gives it relatively (newer servers give an absolute path: then the console sits at the root)."""
    session = os.environ.get("JPY_SESSION_NAME", "")
    return os.path.dirname(session) if session and not os.path.isabs(session) else ""


def server_root(
    sessions: list[dict], kernel_id: str | None, cwd: Path | None = None, session_file: str | None = None
) -> tuple[Path, str]:
    """The server's root folder on disk and the notebook's folder under it (``"notebooks"``).

    JupyterLab's sessions (ipylab) give the notebook's path relative to the root; the server gives
    the kernel the notebook's path on disk (``$JPY_SESSION_NAME``, not resolved through symbolic
    links, as the hub's linked folders are): the root is that path less the relative one. Else
    the kernel's working folder (its notebook's folder) less that many levels. Without a session
    of this kernel: the working folder and ``""``."""
    cwd = Path.cwd() if cwd is None else Path(cwd)
    session_file = os.environ.get("JPY_SESSION_NAME", "") if session_file is None else session_file
    for s in sessions:
        path = str(s.get("path") or "")
        if (s.get("kernel") or {}).get("id") == kernel_id and path.endswith(".ipynb"):
            folder = os.path.dirname(path).strip("/")
            if os.path.isabs(session_file) and session_file.endswith("/" + path.strip("/")):
                return Path(session_file[: -len(path.strip("/"))]), folder
            depth = len([p for p in folder.split("/") if p])
            if depth <= len(cwd.parts) - 1:
                return (cwd.parents[depth - 1] if depth else cwd), folder
    return cwd, ""


class Workbench:
    """The workbench session: data store, log, panels, and (in JupyterLab) the front-end handle.

    Parameters
    ----------
    store
        The session's store (a new one if None).
    namespace
        The console's namespace (the kernel's ``user_ns``); None in scripts and tests.
    frontend
        An ``ipylab.JupyterFrontEnd``; None: no docking (the panels can still be displayed).
    """

    def __init__(self, store: DataStore | None = None, namespace: dict | None = None, frontend: Any = None):
        self.objects = SessionObjects(store, namespace)
        self.log = EventLog()
        self.frontend = frontend
        self.data = DataToolbox(self.objects)
        self.algorithms = AlgorithmToolbox(self.objects, self.log)
        self.log_panel = LogPanel(self.log, engine=self._dask_engine_if_running)
        self.builder: Any = None
        self.windows: dict[str, Any] = {}
        self._windows: dict[str, Any] = {}
        self._pending: set[str] = set()  # main-area tabs asked for, not yet reported added
        self._console_opened = False
        self._plots = 0
        self.replayed: list[str] = []
        self.docked = False
        self.data.on_open(self.open_plot)
        self.algorithms.on_replay(self.replay)
        self.algorithms.builder_button.on_click(lambda _b: self.open_builder())
        self.log.info("workbench started")

    @property
    def store(self) -> DataStore:
        return self.objects.store

    @staticmethod
    def _dask_engine_if_running() -> Any:
        from ..core import engine_dask

        engines = dict(getattr(engine_dask, "_engines", {}) or {})
        return next(iter(engines.values()), None)

    # -- JupyterLab ----------------------------------------------------------------------------
    def _panel(self, widget: W.Widget, label: str, css: str) -> Any:
        from ipylab import Panel

        panel = Panel([widget])
        panel.title.label = label
        panel.title.closable = False
        panel.add_class(css)
        widget.layout.overflow = "auto"
        return panel

    def _add(self, panel: Any, area: str, panel_id: str, args: dict | None = None) -> None:
        """ipylab's ``shell.add`` with a fixed DOM id (so that the panel can be activated by id)."""
        from ipywidgets import widget_serialization

        self.frontend.shell.send(
            {
                "func": "add",
                "payload": {
                    "serializedWidget": widget_serialization["to_json"](panel, None),
                    "area": area,
                    "args": args or {},
                    "id": panel_id,
                },
            }
        )

    def dock(self) -> None:
        """Dock the panels into JupyterLab and open the console on this kernel (once per kernel;
        a reloaded page gets its panels back from ipylab and is only brought to the front)."""
        if self.frontend is None:
            return
        shell = self.frontend.shell
        if self.docked or shell._widgets:
            self.docked = True
            self.activate_panels()
            self.open_console()
            return
        self.docked = True
        shell.observe(self._on_docked, names="_widgets")
        self._add(
            self._panel(self.data, "Data", "daisy-wb-data-panel"), "left", PANEL_IDS["data"], {"rank": 50}
        )
        self._add(
            self._panel(self.algorithms, "Algorithms", "daisy-wb-algorithm-panel"),
            "right",
            PANEL_IDS["algorithms"],
            {"rank": 50},
        )
        log = self._panel(self.log_panel, "Daisy log", "daisy-wb-log-panel")
        # the bottom area does not size what ipylab puts there (ipywidgets applies a panel's layout
        # after JupyterLab has placed it, which clears its size): the panel fills the area itself
        log.layout.width, log.layout.height = "100%", "100%"
        self._add(log, "down", PANEL_IDS["log"])

    def _on_docked(self, change: dict) -> None:
        """ipylab reports the panels it has added: finish docking, lay out again for new tabs."""
        ids = {w.get("id") for w in change["new"] or []}
        if set(PANEL_IDS.values()) <= ids and not self._console_opened:
            self._console_opened = True
            self.activate_panels()
            self.open_console()
            self.log.info("panels docked in JupyterLab")
        for panel_id in self._pending & ids:  # a new window: to the front
            self._pending.discard(panel_id)
            self.frontend.commands.execute("tabsmenu:activate-by-id", {"id": panel_id})

    def activate_panels(self) -> None:
        """Bring the data, algorithm and log panels to the front of their areas."""
        for panel_id in PANEL_IDS.values():
            self.frontend.commands.execute("tabsmenu:activate-by-id", {"id": panel_id})

    def open_console(self) -> None:
        """Open the console on this kernel below the editor (or reopen the session's console after a reload)."""
        kid = _kernel_id()
        if self.frontend is None or kid is None:
            return
        running = [s for s in (self.frontend.sessions.sessions or []) if s.get("path") == self.console_path]
        if running:
            self.frontend.commands.execute(
                "console:open", {"path": self.console_path, "insertMode": "split-bottom", "activate": False}
            )
            return
        self.frontend.commands.execute(
            "console:create",
            {
                "path": self.console_path,
                "name": "Daisy console",
                "kernelPreference": {"id": kid},
                "insertMode": "split-bottom",
                "activate": False,
            },
        )

    @property
    def console_path(self) -> str:
        return "/".join(x for x in (_lab_dir(), CONSOLE_NAME) if x)

    def replay(self, line: str) -> None:
        """Write ``line`` to the console (it runs there and so enters the kernel's history)."""
        self.replayed.append(line)
        self.log.info(f"replay: {line}")
        if self.frontend is not None:
            self.frontend.commands.execute(
                "console:inject", {"path": self.console_path, "code": line, "activate": False}
            )

    def add_window(self, widget: W.Widget, label: str, css: str, panel_id: str) -> Any:
        """Open ``widget`` as a tab of the bottom area, beside the log (plot windows, the workflow
        builder), or bring it to the front when it is open already; returns the panel."""
        if self.frontend is not None and any(
            w.get("id") == panel_id for w in self.frontend.shell._widgets or []
        ):
            self.frontend.commands.execute("tabsmenu:activate-by-id", {"id": panel_id})
            return self._windows.get(panel_id)
        panel = self._panel(widget, label, css)
        panel.title.closable = True
        panel.layout.width, panel.layout.height = "100%", "100%"
        self._windows[panel_id] = panel
        if self.frontend is not None:
            self._pending.add(panel_id)
            self._add(panel, "down", panel_id)
        return panel

    # -- windows -------------------------------------------------------------------------------
    def open_plot(self, key: str) -> Any:
        """Open the plot window of store object ``key`` (image, profile, spectrum, light curve)."""
        try:
            window = plot_window(key, self.store[key], dict(self.store.attrs(key)))
        except Exception as exc:
            self.log.error(f"cannot plot {key}: {type(exc).__name__}: {exc}")
            return None
        self._plots += 1
        self.windows[key] = self.add_window(
            window, f"Plot: {key}", "daisy-wb-plot-panel", f"daisy-wb-plot-{self._plots}"
        )
        self.log.info(f"plot window of {key}")
        return self.windows[key]

    def open_builder(self) -> Any:
        """Open the workflow builder over the session's store (its results go back into the store)."""
        from ..widgets.workflow_builder import WorkflowBuilder

        if self.builder is None:
            self.builder = WorkflowBuilder(self.store)
            self.builder.on_result(self._builder_result)
            editor = W.Button(description="Open JSON in the editor", icon="file-code-o")
            editor.add_class("daisy-wb-open-json")
            editor.on_click(lambda _b: self.open_workflow_json())
            self._builder_box = W.VBox([self.builder, editor])
        self.builder._show_inputs()
        self.builder_panel = self.add_window(
            self._builder_box, "Workflow builder", "daisy-wb-builder-panel", BUILDER_ID
        )
        return self.builder

    def _builder_result(self, builder: Any) -> None:
        wf = builder.workflow
        keys = sorted({k for _p, st in wf.flatten() for k in st.outputs.values()})
        merged = self.objects.merge(builder.result, [k for k in keys if k in builder.result])
        self.log.info(f"workflow '{wf.name}': {len(wf.flatten())} step(s) ran; wrote {', '.join(merged)}")

    def open_workflow_json(self) -> Path:
        """Save the builder's workflow as JSON (``workflows/<name>.json`` under the server's root, or the
        builder's file field when it names another file) and open it in JupyterLab's editor."""
        sessions = list(self.frontend.sessions.sessions or []) if self.frontend is not None else []
        root, _folder = server_root(sessions, _kernel_id())
        field = Path(self.builder.path.value)
        if field == Path("workflow.json"):  # the builder's default: keep it out of the notebook's folder
            field = root / "workflows" / f"{self.builder.workflow.name or 'workflow'}.json"
            field.parent.mkdir(parents=True, exist_ok=True)
        path = Path(self.builder.save(str(field))).resolve()
        self.log.info(f"workflow saved to {path}")
        if self.frontend is not None:
            try:
                rel = path.relative_to(root.resolve()).as_posix()
            except ValueError:
                self.log.warning(f"{path} is outside the server's folder {root}: open it from there")
                return path
            self.frontend.commands.execute("docmanager:open", {"path": rel, "factory": "Editor"})
        return path

    def toolbar(self) -> W.Widget:
        """Buttons for the notebook: open the workflow builder, re-dock the panels."""
        builder = W.Button(description="Workflow builder", icon="sitemap")
        builder.add_class("daisy-wb-toolbar-builder")
        builder.on_click(lambda _b: self.open_builder())
        return W.HBox([builder, W.HTML(f"<span style='color:#666'>{html.escape(self.status_text())}</span>")])

    def status_text(self) -> str:
        return f"{len(self.store.keys())} object(s) in the session's store"


def start_workbench(store: DataStore | None = None) -> Workbench:
    """The session's workbench (created once per kernel): hooks the console to the store and docks
    the panels in JupyterLab when it connects. Outside JupyterLab the panels are built, not docked."""
    global _WORKBENCH
    if _WORKBENCH is not None:
        return _WORKBENCH
    ip = None
    try:
        from IPython import get_ipython

        ip = get_ipython()
    except ImportError:
        pass
    frontend, missing = None, ""
    if ip is not None and getattr(ip, "kernel", None) is not None:
        try:
            from ipylab import JupyterFrontEnd
        except ImportError:  # installed without the hub extra: the panels can still be displayed
            missing = "ipylab is not installed (pip install 'daisy-widgets[hub]'): the panels are not docked"
        else:
            frontend = JupyterFrontEnd()
    wb = Workbench(store, ip.user_ns if ip is not None else None, frontend)
    if missing:
        wb.log.warning(missing)
    if ip is not None:
        ip.events.register("post_run_cell", wb.objects.sync_from_namespace)
    if frontend is not None:
        frontend.on_ready(wb.dock)
    _WORKBENCH = wb
    return wb
