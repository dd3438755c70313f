"""Stage 4, Centre: an automatic estimate, a sweep of trial slices to click, a refine slider."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import numpy as np

from ...widgets.colormaps import image_png, percentile_window
from ...widgets.stage import Stage
from .help_texts import stage_help

_NOT_YET = "<i>not estimated yet (the detector middle is used)</i>"


class CentreStage(Stage):
    """Stage 4: the rotation axis, ``model.center`` (px) and ``model.center_method``.

    *Find centre* and *Sweep* run the controller's estimates in the background; the
    sweep's thumbnails follow ``model.sweep`` and a click picks one; the slider refines
    by hand (``center_method`` becomes "refined by hand").
    """

    title = "4 Centre"
    help_text, help_algorithms, help_docs = stage_help("centre")

    def _render(self) -> list[W.Widget]:
        c = self.controller
        self.center_methods = W.Dropdown(
            options=[
                ("auto (Vo)", "auto"),
                ("Vo's Fourier metric", "vo"),
                ("centre of mass", "com"),
                ("entropy sweep", "entropy"),
            ],
            value="auto",
            description="method",
            layout=W.Layout(width="260px"),
        )
        self.center_auto_button = W.Button(
            description="Find centre",
            icon="crosshairs",
            button_style="primary",
            tooltip="estimate the rotation axis on the preview row",
        )
        self.center_auto_button.add_class("daisy-tomo-center-auto")
        self.center_auto_button.on_click(lambda _b: c.background("centre", self.find_center_auto))
        self.center_value = W.HTML(value=_NOT_YET)
        self.center_value.add_class("daisy-tomo-center-value")
        self.center_slider = W.FloatSlider(
            value=0.0,
            min=0.0,
            max=1.0,
            step=0.25,
            description="centre (px)",
            continuous_update=False,
            readout_format=".2f",
            style={"description_width": "initial"},
            layout=W.Layout(width="520px"),
        )
        self.center_slider.add_class("daisy-tomo-center-slider")
        self._moving = False  # the re-entrancy guard of the slider <-> model.center pair
        self.center_slider.observe(self._slider_moved, names="value")
        self.sweep_n = W.BoundedIntText(
            value=7, min=3, max=15, description="trials", layout=W.Layout(width="150px")
        )
        self.sweep_step = W.BoundedFloatText(
            value=1.0, min=0.25, max=50.0, step=0.25, description="step (px)", layout=W.Layout(width="170px")
        )
        self.sweep_button = W.Button(
            description="Sweep", icon="th", tooltip="small reconstructions around the centre"
        )
        self.sweep_button.add_class("daisy-tomo-sweep-run")
        self.sweep_button.on_click(lambda _b: c.background("sweep", self.sweep_centres))
        self.sweep_box = W.HBox([], layout=W.Layout(flex_flow="row wrap", width="800px"))
        self.sweep_box.add_class("daisy-tomo-sweep")
        self.observe_model(lambda _c: self._show_scan(), "scan")
        self.observe_model(lambda _c: self._show_centre(), ("center", "center_method"))
        self.observe_model(lambda _c: self._show_sweep(), "sweep")
        self.observe_model(lambda _c: self._show_choice(), "sweep_choice")
        left = W.VBox(
            [
                W.HTML("<b>Automatic estimate</b>"),
                W.HBox([self.center_methods, self.center_auto_button]),
                self.center_value,
                W.HTML("<b>Sweep</b>: small trial reconstructions around the centre; click the sharpest"),
                W.HBox([self.sweep_n, self.sweep_step, self.sweep_button]),
                self.sweep_box,
                W.HTML("<b>Refine</b> (the preview follows)"),
                self.center_slider,
            ],
            layout=W.Layout(width="800px"),
        )
        return [left]

    def refresh(self) -> None:
        self._show_scan()
        self._show_centre()
        self._show_sweep()

    # -- actions -------------------------------------------------------------------------
    def find_center_auto(self) -> float:
        """Estimate the axis with the chosen method (what *Find centre* does)."""
        method = self.center_methods.value
        self.center_value.value = f"<i>estimating ({method})…</i>"
        return self.controller.find_center_auto(method)

    def sweep_centres(self) -> list[dict[str, Any]]:
        """Trial reconstructions around the current centre (what *Sweep* does)."""
        self.sweep_box.children = [W.HTML("<i>reconstructing trials…</i>")]
        return self.controller.sweep_centres(int(self.sweep_n.value), float(self.sweep_step.value))

    def _slider_moved(self, change: dict) -> None:
        if self._moving or self.model.scan is None:
            return
        with self.model.hold_trait_notifications():
            self.model.center_method = "refined by hand"
            self.model.center = float(change["new"])

    # -- model -> widgets ------------------------------------------------------------------
    def _show_scan(self) -> None:
        scan = self.model.scan
        for b in (self.center_auto_button, self.sweep_button):
            b.disabled = scan is None
        if scan is None:
            return
        self._moving = True
        try:
            self.center_slider.max = float(scan.shape[2] - 1)
            self.center_slider.min = 0.0
            self.center_slider.value = self.model.center_or_middle
        finally:
            self._moving = False

    def _show_centre(self) -> None:
        m = self.model
        if m.center is None:
            self.center_value.value = _NOT_YET
            return
        self._moving = True
        try:
            self.center_slider.value = float(m.center)
        finally:
            self._moving = False
        mid = (m.width - 1) / 2
        self.center_value.value = (
            f"centre <b>{m.center:.2f} px</b> ({m.center_method}); detector middle "
            f"{mid:.1f} px, offset {m.center - mid:+.2f} px"
        )

    def _show_sweep(self) -> None:
        trials = self.model.sweep
        best = int(np.argmax([t["sharpness"] for t in trials])) if trials else -1
        lo, hi = percentile_window(np.concatenate([t["image"].ravel() for t in trials])) if trials else (0, 1)
        cells = []
        for i, t in enumerate(trials):
            img = W.Image(
                value=image_png(t["image"], lo, hi),
                format="png",
                layout=W.Layout(width="100px", height="100px"),
            )
            b = W.Button(
                description=f"{t['center']:.2f}",
                layout=W.Layout(width="100px"),
                button_style="success" if i == best else "",
                tooltip=f"use centre {t['center']:.2f} px (sharpness {t['sharpness']:.3g})",
            )
            b.add_class("daisy-tomo-sweep-pick")
            b.on_click(lambda _b, i=i: self.controller.guard(self.controller.pick_centre, i))
            cells.append(W.VBox([img, b], layout=W.Layout(margin="2px")))
        self.sweep_box.children = cells
        self._show_choice()

    def _show_choice(self) -> None:
        k = self.model.sweep_choice
        if k < 0:
            return
        for i, cell in enumerate(self.sweep_box.children):
            cell.children[1].button_style = "info" if i == k else ""


__all__ = ["CentreStage"]
