"""Stage 5, Motion: estimate per-projection shifts on request, see them, use the correction."""

from __future__ import annotations

import threading

import bqplot as bq
import ipywidgets as W
import numpy as np

from ...widgets.form import ParamForm
from ...widgets.image_view import ImageView
from ...widgets.progress import JobProgress
from ...widgets.stage import Stage
from .help_texts import stage_help
from .model import algorithm_class


class MotionStage(Stage):
    """Stage 5: the ``tomo.align`` form (``model.align_params``), the rows used
    (``model.motion_rows``), the job with progress and Cancel, before/after sinograms and
    the shifts (``model.motion``), and *use the correction* (``model.motion_use``)."""

    title = "5 Motion"
    help_text, help_algorithms, help_docs = stage_help("motion")

    def _render(self) -> list[W.Widget]:
        c, m = self.controller, self.model
        self.motion_form = ParamForm(algorithm_class("tomo.align"), m.align_params)
        self.motion_form.on_change(self._form_changed)
        self._syncing = False  # the form follows the model: its changes do not go back to it
        self.observe_model(lambda _c: self._show_params(), "align_params")
        self.motion_rows = W.BoundedIntText(
            value=8,
            min=1,
            max=64,
            description="rows ±",
            tooltip="detector rows above and below the preview row used for the estimate",
            layout=W.Layout(width="160px"),
        )
        self.bind(self.motion_rows, "motion_rows")
        self.motion_button = W.Button(description="Estimate motion", icon="arrows", button_style="primary")
        self.motion_button.add_class("daisy-tomo-motion-run")
        self.motion_button.on_click(lambda _b: c.guard(self.estimate_motion))
        self.motion_use = W.Checkbox(
            value=False, description="use the correction (preview and volume)", indent=False
        )
        self.motion_use.add_class("daisy-tomo-motion-use")
        self.bind(self.motion_use, "motion_use")
        self.motion_job = JobProgress("Motion estimate")
        self.motion_job.add_class("daisy-tomo-motion-job")
        self.motion_before = ImageView(
            "Before", width=300, height=220, labels=("column", "angle index"), show_cmap=False
        )
        self.motion_after = ImageView(
            "After", width=300, height=220, labels=("column", "angle index"), show_cmap=False
        )
        xs, ys = bq.LinearScale(), bq.LinearScale()
        self.shift_lines = bq.Lines(
            x=np.zeros(2),
            y=np.zeros((2, 2)),
            scales={"x": xs, "y": ys},
            colors=["#1f77b4", "#d62728"],
            labels=["dy (vertical)", "dx (horizontal)"],
            display_legend=True,
        )
        self.shift_plot = bq.Figure(
            marks=[self.shift_lines],
            axes=[bq.Axis(scale=xs, label="angle (°)"), bq.Axis(scale=ys, side="left", label="shift (px)")],
            legend_location="top-right",
            fig_margin={"top": 10, "bottom": 40, "left": 50, "right": 10},
            layout=W.Layout(width="360px", height="220px"),
        )
        self.shift_plot.add_class("daisy-tomo-shifts")
        self.shift_plot.refresh_view = lambda: self.shift_lines.send_state(["x", "y"])
        self.observe_model(lambda _c: self._show_scan(), "scan")
        self.observe_model(lambda _c: self._show_motion(), "motion")
        left = W.VBox(
            [
                W.HTML(
                    "Correct per-projection motion (jitter, drift) by re-projection matching; "
                    "only when the sample moved."
                ),
                self.motion_form,
                W.HBox([self.motion_rows, self.motion_button]),
                self.motion_job,
                W.HBox([self.motion_before, self.motion_after]),
                self.shift_plot,
                self.motion_use,
            ],
            layout=W.Layout(width="800px"),
        )
        return [left]

    def refresh(self) -> None:
        self._show_scan()
        self._show_motion()

    def _form_changed(self, form: ParamForm) -> None:
        if form.valid and not self._syncing:
            self.model.align_params = form.coerced

    def _show_params(self) -> None:
        want = dict(self.model.align_params)
        if self.motion_form.valid and self.motion_form.coerced != want:
            self._syncing = True
            try:
                self.motion_form.set_values(want)
            finally:
                self._syncing = False

    def estimate_motion(self, wait: bool = False) -> threading.Thread:
        """Estimate the motion on rows around the preview row, in the background (progress + Cancel)."""
        self.model.align_params = self.motion_form.coerced  # raises ValidationError naming bad fields
        job, done = self.controller.motion_job()
        t = self.motion_job.run_in_thread(
            job,
            title="Motion estimate",
            on_success=self.controller.safe(done),
            on_error=self.controller.error,
        )
        if wait:
            t.join()
        return t

    def _show_scan(self) -> None:
        self.motion_button.disabled = self.model.scan is None

    def _show_motion(self) -> None:
        result, m = self.model.motion, self.model
        if result is None:
            return
        k = min(max(m.preview_row - result.rows.start, 0), result.after.shape[0] - 1)
        self.motion_before.set_image(result.before[k])
        self.motion_after.set_image(result.after[k])
        with self.shift_lines.hold_sync():
            self.shift_lines.x = np.asarray(m.scan.theta, float)
            self.shift_lines.y = np.asarray(result.shifts, float).T


__all__ = ["MotionStage"]
