"""The live slice preview beside stages 3-6: the row slider, the slice, its status and contrast."""

from __future__ import annotations

import ipywidgets as W

from ...widgets.contrast import ContrastControl
from ...widgets.image_view import ImageView
from ...widgets.stage import Stage
from .help_texts import stage_help
from .model import PreviewResult


def preview_status(result: PreviewResult) -> str:
    """``row 3 · centre 47.50 px · fbp/ramp · computed in 0.05 s`` (with the binning when > 1)."""
    snap = result.snapshot
    binned = f" · binned {snap['binning']}×" if snap.get("binning", 1) > 1 else ""
    return (
        f"row {snap['row']} · centre {snap['center']:.2f} px{binned} · {snap['algorithm']}/"
        f"{snap['filter']} · computed in {result.seconds:.2f} s"
    )


class PreviewPanel(Stage):
    """The preview panel: ``model.preview_row`` (slider) in, ``model.preview`` (slice and status) out.

    One panel is shared by the preprocess, centre, motion and preview stages; the app
    moves it to the stage shown. The controller computes the preview; the panel only shows it.
    """

    title = "preview"
    help_text, help_algorithms, help_docs = stage_help("panel")

    def _render(self) -> list[W.Widget]:
        self.layout = W.Layout(width="420px", margin="0 0 0 12px")
        self.preview_view = ImageView("Slice preview", width=400, height=400, labels=("x", "y"))
        self.preview_view.add_class("daisy-tomo-preview")
        self.preview_contrast = ContrastControl(width=300)
        self.preview_contrast.attach(self.preview_view, follow=True)
        self.preview_status = W.HTML(value="<i>no preview yet</i>")
        self.preview_status.add_class("daisy-tomo-preview-status")
        self.preview_row = W.IntSlider(
            value=0,
            min=0,
            max=0,
            description="slice (row)",
            style={"description_width": "initial"},
            layout=W.Layout(width="380px"),
            continuous_update=False,
        )
        self._set_range()
        self.observe_model(lambda _c: self._set_range(), "scan")  # before the row: the range first
        self.bind(self.preview_row, "preview_row")
        self.observe_model(lambda _c: self._show_preview(), "preview")
        self.observe_model(lambda _c: self._show_state(), "preview_state")
        return [self.preview_row, self.preview_view, self.preview_status, self.preview_contrast]

    def refresh(self) -> None:
        self._show_preview()

    def _set_range(self) -> None:
        scan = self.model.scan
        if scan is not None:
            self.preview_row.max = scan.shape[1] - 1

    def _show_preview(self) -> None:
        result = self.model.preview
        if result is None:
            return
        self.preview_view.set_image(result.image)
        self.preview_status.value = preview_status(result)

    def _show_state(self) -> None:
        state = self.model.preview_state
        if state in ("waiting", "running"):
            self.preview_status.value = f"<i>{'updating' if state == 'running' else 'waiting'}…</i>"
        elif state == "failed":
            self.preview_status.value = (
                "<span style='color:#c00'>preview failed (see the message above)</span>"
            )


__all__ = ["PreviewPanel", "preview_status"]
