"""Stage 2, Raw data: projections, flats and darks frame by frame, and the sinogram of a detector row."""

from __future__ import annotations

import ipywidgets as W

from ...widgets.contrast import ContrastControl
from ...widgets.image_view import ImageView
from ...widgets.stage import Stage
from .help_texts import stage_help


class RawDataStage(Stage):
    """Stage 2: a frame viewer (projections / flats / darks, with a slider and contrast) and a
    sinogram viewer whose slider picks the detector row. Follows ``model.scan``; reads frames
    lazily from the scan's arrays (nothing is loaded whole)."""

    title = "2 Raw data"
    help_text, help_algorithms, help_docs = stage_help("raw")

    def _render(self) -> list[W.Widget]:
        self.raw_kind = W.ToggleButtons(
            options=["projections", "flats", "darks"], value="projections", style={"button_width": "96px"}
        )
        self.raw_kind.observe(lambda _c: self.controller.guard(self._show_kind), names="value")
        self.raw_view = ImageView(
            "Projection", width=400, height=330, labels=("column", "row"), slider_label="angle"
        )
        self.raw_contrast = ContrastControl(width=300)
        self.raw_contrast.attach(self.raw_view, follow=True)
        self.sino_view = ImageView(
            "Sinogram of one detector row",
            width=400,
            height=330,
            labels=("column", "angle index"),
            slider_label="row",
        )
        self.sino_contrast = ContrastControl(width=300)
        self.sino_contrast.attach(self.sino_view, follow=True)
        self.raw_row = self.sino_view.slider
        self.observe_model(lambda _c: self.refresh(), "scan")
        box = W.HBox(
            [
                W.VBox([self.raw_kind, self.raw_view, self.raw_contrast]),
                W.VBox(
                    [W.HTML("&nbsp;"), self.sino_view, self.sino_contrast],
                    layout=W.Layout(margin="0 0 0 12px"),
                ),
            ]
        )
        return [box]

    def refresh(self) -> None:
        scan = self.model.scan
        if scan is None:
            return
        if self.raw_kind.value == "projections":
            self._show_kind()
        else:
            self.raw_kind.value = "projections"  # the observer shows it
        na, nr, nc = scan.shape
        proj = scan.projections
        self.sino_view.set_stack(
            frame=lambda r: proj[:, r, :], n=nr, index=nr // 2, frame_names=[f"row {r}" for r in range(nr)]
        )

    def _show_kind(self) -> None:
        scan = self.model.scan
        if scan is None:
            return
        kind = self.raw_kind.value
        arr = {"projections": scan.projections, "flats": scan.flats, "darks": scan.darks}[kind]
        if arr is None:
            self.controller.error(f"This scan has no {kind}.")
            return
        names = (
            [f"{a:.2f}°" for a in scan.theta]
            if kind == "projections"
            else [f"{kind[:-1]} {i + 1}/{arr.shape[0]}" for i in range(arr.shape[0])]
        )
        self.raw_view.title.value = f"<b>{kind.capitalize()}</b>"
        self.raw_view.slider.description = "angle" if kind == "projections" else "frame"
        self.raw_view.set_stack(frame=lambda i: arr[i], n=arr.shape[0], index=0, frame_names=names)


__all__ = ["RawDataStage"]
