"""A job progress widget: bar, step and chunk counters, elapsed time and ETA, Cancel button, log.

It is a :data:`~daisy_widgets.core.progress.ProgressCallback` (call it with
:class:`ProgressEvent`) and owns the :class:`CancelToken` its Cancel button
sets, so any long operation that takes ``progress=`` and ``cancel=`` can be
shown with it. :meth:`JobProgress.run_in_thread` runs a job in a background
thread so that the kernel stays responsive (the Cancel click is processed
while the job runs).

Example::

    job = JobProgress("Reconstruction")
    display(job)
    job.run_in_thread(lambda progress, cancel: run_workflow(wf, store, progress=progress, cancel=cancel),
                      on_success=lambda store: print(store.tree()))

CSS classes: ``daisy-job-progress`` (the widget), ``daisy-job-bar``,
``daisy-job-status`` (text: ``running``, ``done``, ``cancelled``, ``failed``),
``daisy-job-detail``, ``daisy-job-cancel`` (button), ``daisy-job-log``.
"""

from __future__ import annotations

import html
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from ..core.errors import Cancelled
from ..core.progress import CancelToken, ProgressEvent, format_seconds


class JobProgress(W.VBox):
    """Progress of one job at a time, with a Cancel button and a log area.

    Parameters
    ----------
    title
        Shown above the bar.
    max_rate
        Most updates of the bar per second (events in between are merged).
    """

    def __init__(self, title: str = "Job", max_rate: float = 10.0, **kw: Any):
        self.title = W.HTML(value=f"<b>{html.escape(title)}</b>")
        self.bar = W.FloatProgress(
            value=0.0, min=0.0, max=1.0, bar_style="info", layout=W.Layout(width="320px")
        )
        self.bar.add_class("daisy-job-bar")
        self.status = W.Label(value="idle")
        self.status.add_class("daisy-job-status")
        self.detail = W.Label(value="")
        self.detail.add_class("daisy-job-detail")
        self.cancel_button = W.Button(
            description="Cancel",
            icon="stop",
            button_style="warning",
            disabled=True,
            tooltip="stop the running job; nothing partial is kept",
        )
        self.cancel_button.add_class("daisy-job-cancel")
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.log_area = W.Textarea(value="", disabled=True, layout=W.Layout(width="100%", height="90px"))
        self.log_area.add_class("daisy-job-log")
        super().__init__(
            children=[
                self.title,
                W.HBox([self.bar, self.status, self.cancel_button]),
                self.detail,
                self.log_area,
            ],
            **kw,
        )
        self.add_class("daisy-job-progress")
        self.token = CancelToken()
        self.last_event: ProgressEvent | None = None
        self._min_dt = 1.0 / max_rate
        self._t_last = 0.0
        self._lock = threading.Lock()
        self._state_lock = threading.RLock()  # orders Cancel against the job's own finish
        self.thread: threading.Thread | None = None
        self.result: Any = None
        self.error: BaseException | None = None

    # -- the callback ------------------------------------------------------------------
    def __call__(self, ev: ProgressEvent) -> None:
        self.last_event = ev
        if ev.event:  # retries, fallbacks, skipped steps, loop rounds: always in the log
            self.log(f"{ev.step}: {ev.message}")
        now = time.monotonic()
        if ev.fraction < 1.0 and now - self._t_last < self._min_dt:
            return
        self._t_last = now
        self.bar.value = min(max(ev.fraction, 0.0), 1.0)
        step = f"step {min(ev.step_index + 1, ev.n_steps)}/{ev.n_steps} {ev.step}" if ev.step else ""
        chunks = f" · chunk {ev.chunks_done}/{ev.chunks_total}" if ev.chunks_total > 1 else ""
        msg = f" · {ev.message}" if ev.message else ""
        self.detail.value = (
            f"{step}{chunks}{msg} · {100 * ev.fraction:.0f}% · elapsed {format_seconds(ev.elapsed)}"
            f" · ETA {format_seconds(ev.eta)}"
        )

    # -- life cycle --------------------------------------------------------------------
    def start(self, title: str | None = None) -> CancelToken:
        """Reset for a new job; returns the fresh cancel token the Cancel button will set."""
        if title:
            self.title.value = f"<b>{html.escape(title)}</b>"
        self.token = CancelToken()
        self.bar.value = 0.0
        self.bar.bar_style = "info"
        self.status.value = "running"
        self.detail.value = ""
        self.cancel_button.disabled = False
        self.error = None
        self.result = None
        self._t_last = 0.0
        return self.token

    def cancel(self) -> None:
        """What the Cancel button does: set the token (the job stops at its next check).

        A click that arrives after the job has already finished changes nothing: the
        status stays ``done`` (or ``failed``) rather than showing a ``cancelling`` that
        never ends.
        """
        with self._state_lock:
            if self.status.value != "running":
                return
            self.token.cancel()
            self.status.value = "cancelling"
            self.cancel_button.disabled = True
        self.log("cancel requested")

    def finish(self, state: str = "done", message: str = "") -> None:
        """Mark the end: ``done``, ``cancelled`` or ``failed``."""
        with self._state_lock:
            self.cancel_button.disabled = True
            self.status.value = state
        if state == "done":
            self.bar.value = 1.0
            self.bar.bar_style = "success"
        elif state == "cancelled":
            self.bar.bar_style = "warning"
        else:
            self.bar.bar_style = "danger"
        if message:
            self.log(message)

    def log(self, message: str) -> None:
        with self._lock:
            stamp = time.strftime("%H:%M:%S")
            self.log_area.value = (self.log_area.value + f"[{stamp}] {message}\n")[-20000:]

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def run_in_thread(
        self,
        job: Callable[[Callable[[ProgressEvent], None], CancelToken], Any],
        *,
        title: str | None = None,
        on_success: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> threading.Thread:
        """Run ``job(progress, cancel)`` in a background thread, updating this widget.

        Returns the thread (``join()`` it in scripts and tests). The result is in
        :attr:`result`, a failure in :attr:`error` (and the log).
        """
        if self.running:
            raise RuntimeError("a job is already running; cancel it first")
        token = self.start(title)
        self.log("started" + (f": {title}" if title else ""))

        def target() -> None:
            try:
                self.result = job(self, token)
            except Cancelled:
                self.finish("cancelled", "cancelled: no partial output kept")
            except BaseException as exc:
                self.error = exc
                self.finish("failed", f"{type(exc).__name__}: {exc}")
                if not hasattr(exc, "step"):
                    self.log("".join(traceback.format_exception_only(type(exc), exc)).strip())
                if on_error is not None:
                    on_error(exc)
            else:
                el = self.last_event.elapsed if self.last_event else 0.0
                self.finish("done", f"done in {format_seconds(el)}")
                if on_success is not None:
                    on_success(self.result)

        self.thread = threading.Thread(target=target, name="daisy-job", daemon=True)
        self.thread.start()
        return self.thread
