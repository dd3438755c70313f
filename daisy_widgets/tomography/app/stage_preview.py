"""Stage 6, Preview: the algorithm, filter, iterations and binning of the live one-slice preview."""

from __future__ import annotations

import ipywidgets as W

from ...widgets.stage import Stage
from .help_texts import stage_help

#: (label, name) of the reconstruction methods the app offers
ALGORITHMS = (
    ("FBP (filtered back-projection)", "fbp"),
    ("Gridrec (Fourier)", "gridrec"),
    ("SIRT (iterative)", "sirt"),
    ("CGLS (iterative)", "cgls"),
)
#: the FBP/gridrec filters the app offers
FILTERS = ("ramp", "shepp-logan", "cosine", "hamming", "hann", "parzen")


class PreviewStage(Stage):
    """Stage 6: ``model.algorithm``, ``model.filter``, ``model.iterations``, ``model.binning`` and
    ``model.auto_preview``; every change asks the controller for a new preview (debounced)."""

    title = "6 Preview"
    help_text, help_algorithms, help_docs = stage_help("preview")

    def _render(self) -> list[W.Widget]:
        self.algorithm = W.Dropdown(
            options=ALGORITHMS, value="fbp", description="algorithm", layout=W.Layout(width="330px")
        )
        self.filter = W.Dropdown(
            options=FILTERS, value="ramp", description="filter", layout=W.Layout(width="220px")
        )
        self.iterations = W.BoundedIntText(
            value=50,
            min=1,
            max=2000,
            description="iterations",
            tooltip="SIRT/CGLS iterations",
            layout=W.Layout(width="180px"),
        )
        self.algorithm.add_class("daisy-tomo-algorithm")
        self.filter.add_class("daisy-tomo-filter")
        self.preview_button = W.Button(description="Update now", icon="refresh")
        self.preview_button.on_click(lambda _b: self.controller.update_preview(force=True))
        self.auto_preview = W.Checkbox(value=True, description="update after each change", indent=False)
        self.preview_binning = W.Dropdown(
            options=[("auto (≤ 640 px)", 0), ("full resolution", 1), ("binned 2×", 2), ("binned 4×", 4)],
            value=0,
            description="preview",
            tooltip="detector binning of the preview only (faster on wide detectors)",
            layout=W.Layout(width="260px"),
        )
        self.preview_binning.add_class("daisy-tomo-binning")
        for widget, trait in (
            (self.algorithm, "algorithm"),
            (self.filter, "filter"),
            (self.iterations, "iterations"),
            (self.auto_preview, "auto_preview"),
            (self.preview_binning, "binning"),
        ):
            self.bind(widget, trait)
        self.observe_model(lambda _c: self.refresh(), "scan")
        left = W.VBox(
            [
                W.HTML(
                    "One slice, recomputed after each change of the preprocessing, centre, row, algorithm or "
                    "filter. The page stays usable while it computes; a newer change cancels an older one."
                ),
                self.algorithm,
                W.HBox([self.filter, self.iterations]),
                W.HBox([self.auto_preview, self.preview_button]),
                self.preview_binning,
            ],
            layout=W.Layout(width="800px"),
        )
        return [left]

    def refresh(self) -> None:
        self.preview_button.disabled = self.model.scan is None


__all__ = ["PreviewStage", "ALGORITHMS", "FILTERS"]
