"""The log and status panel: every run's events, warnings and errors, and the state of Dask and the GPU.

CSS classes: ``daisy-log-panel``, ``daisy-log-status`` (Dask and GPU lines),
``daisy-log-refresh``, ``daisy-log-text`` (the log, newest last), ``daisy-log-clear``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from .events import EventLog, LogEntry, cluster_state, gpu_state

_COLOURS = {"info": "#222", "progress": "#2f6db5", "warning": "#a60", "error": "#c00"}


class LogPanel(W.VBox):
    """Shows an :class:`EventLog` (last ``rows`` entries) and the computing resources.

    Parameters
    ----------
    log
        The session's log.
    engine
        Callable returning the Dask engine in use (or None), for the cluster line.
    rows
        Entries shown.
    """

    def __init__(self, log: EventLog, engine: Callable[[], Any] | None = None, rows: int = 200, **kw: Any):
        self.events = log
        self._engine = engine or (lambda: None)
        self.rows = rows
        self.status = W.HTML("")
        self.status.add_class("daisy-log-status")
        self.refresh_button = W.Button(
            description="Refresh", icon="refresh", tooltip="probe Dask and the GPU again"
        )
        self.refresh_button.add_class("daisy-log-refresh")
        self.refresh_button.on_click(lambda _b: self.refresh_status())
        self.clear_button = W.Button(description="Clear", icon="trash")
        self.clear_button.add_class("daisy-log-clear")
        self.clear_button.on_click(lambda _b: self.clear())
        self.text = W.HTML("", layout=W.Layout(max_height="220px", overflow_y="auto", width="100%"))
        self.text.add_class("daisy-log-text")
        super().__init__(
            [
                W.HBox([W.HTML("<b>Log and status</b>"), self.refresh_button, self.clear_button]),
                self.status,
                self.text,
            ],
            **kw,
        )
        self.add_class("daisy-log-panel")
        log.on_entry(self._added)
        self.refresh_status()
        self.render()

    def refresh_status(self) -> None:
        """Probe the Dask cluster and the GPU again."""
        self.status.value = (
            f"<div><b>Dask</b>: {html.escape(cluster_state(self._engine()))}</div>"
            f"<div><b>GPU</b>: {html.escape(gpu_state())}</div>"
        )

    def _added(self, entry: LogEntry) -> None:
        self.render()

    def render(self) -> None:
        entries = self.events.entries[-self.rows :]
        lines = "".join(
            f"<span class='daisy-log-{e.level}' style='color:{_COLOURS[e.level]}'>{html.escape(e.text)}</span>\n"
            for e in entries
        )
        self.text.value = (
            "<pre style='font-size:12px;line-height:1.35;margin:0;white-space:pre-wrap'>"
            f"{lines or '<i>no runs yet</i>'}</pre>"
        )

    def clear(self) -> None:
        self.events.entries.clear()
        self.render()
