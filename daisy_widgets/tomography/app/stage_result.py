"""Stage 8, Result: the volume in 3-D and by slices, saved as HDF5 with its parameters or as TIFFs."""

from __future__ import annotations

import html
import os

import ipywidgets as W

from ...widgets.stage import Stage
from ...widgets.volume_view import VolumeView
from .help_texts import stage_help


class ResultStage(Stage):
    """Stage 8: shows ``model.volume``; *Save* writes it through the controller
    (:meth:`~.jobs.VolumeJobs.save`: atomic, never over a file without *overwrite*)."""

    title = "8 Result"
    help_text, help_algorithms, help_docs = stage_help("result")

    def _render(self) -> list[W.Widget]:
        self.volume_view = VolumeView(size=280)
        self.save_path = W.Text(
            value="",
            description="save as",
            style={"description_width": "initial"},
            layout=W.Layout(width="560px"),
            placeholder="path of the .h5/.nxs file or TIFF folder",
        )
        self.save_path.add_class("daisy-tomo-save-path")
        self.save_format = W.ToggleButtons(
            options=[("HDF5 + parameters", "hdf5"), ("NeXus (NXtomoproc)", "nexus"), ("TIFF stack", "tiff")],
            value="hdf5",
            style={"button_width": "140px"},
        )
        self.save_format.observe(lambda _c: self._default_save_path(), names="value")
        self.overwrite = W.Checkbox(
            value=False, description="overwrite", indent=False, layout=W.Layout(width="110px")
        )
        self.save_button = W.Button(description="Save", icon="save", button_style="success", disabled=True)
        self.save_button.add_class("daisy-tomo-save")
        self.save_button.on_click(lambda _b: self.controller.guard(self.save))
        self.saved = W.HTML(value="")
        self.saved.add_class("daisy-tomo-saved")
        self.observe_model(lambda _c: self.refresh(), "volume")
        return [
            self.volume_view,
            W.HBox([self.save_path, self.overwrite]),
            W.HBox([self.save_format, self.save_button]),
            self.saved,
        ]

    def refresh(self) -> None:
        vol = self.model.volume
        if vol is None:
            return
        self.volume_view.set_volume(vol.data)
        self.save_button.disabled = False
        self._default_save_path()

    def _default_save_path(self) -> None:
        if self.model.scan is not None:
            self.save_path.value = self.controller.default_save_path(self.save_format.value)

    def save(
        self, path: str | os.PathLike | None = None, fmt: str | None = None, overwrite: bool | None = None
    ) -> str:
        """Save the volume (defaults: the path, format and *overwrite* on the page); returns the path."""
        out = self.controller.save(
            path or self.save_path.value,
            fmt or self.save_format.value,
            self.overwrite.value if overwrite is None else overwrite,
        )
        self.saved.value = f"Saved to <code>{html.escape(out)}</code>"
        return out


__all__ = ["ResultStage"]
