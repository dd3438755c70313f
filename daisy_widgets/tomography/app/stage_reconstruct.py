"""Stage 7, Reconstruct: the slices, method and device of the volume, run as a workflow with progress."""

from __future__ import annotations

import threading

import ipywidgets as W

from ...core.backend import gpu_available
from ...widgets.progress import JobProgress
from ...widgets.stage import Stage
from .help_texts import stage_help
from .stage_preview import ALGORITHMS, FILTERS


class ReconstructStage(Stage):
    """Stage 7: ``model.slices``, ``model.recon_algorithm``, ``model.recon_filter``, ``model.backend``
    and ``model.engine``; *Reconstruct volume* runs the controller's workflow job
    (:meth:`~.jobs.VolumeJobs.volume_job`) with progress, ETA and Cancel."""

    title = "7 Reconstruct"
    help_text, help_algorithms, help_docs = stage_help("reconstruct")

    def _render(self) -> list[W.Widget]:
        c = self.controller
        backends = [("CPU (numpy + numba)", "numpy")] + ([("GPU (CuPy)", "cupy")] if gpu_available() else [])
        self.backend = W.Dropdown(
            options=backends, value="numpy", description="device", layout=W.Layout(width="300px")
        )
        self.backend.add_class("daisy-tomo-backend")
        self.slices = W.IntRangeSlider(
            value=(0, 0),
            min=0,
            max=0,
            description="slices (rows)",
            style={"description_width": "initial"},
            layout=W.Layout(width="520px"),
            continuous_update=False,
        )
        self.size_info = W.HTML(value="")
        self.recon_algorithm = W.Dropdown(
            options=ALGORITHMS, value="fbp", description="algorithm", layout=W.Layout(width="330px")
        )
        self.recon_filter = W.Dropdown(
            options=FILTERS, value="ramp", description="filter", layout=W.Layout(width="220px")
        )
        self.same_as_preview = W.Button(
            description="Same as preview", tooltip="copy algorithm and filter from the preview"
        )
        self.same_as_preview.on_click(lambda _b: self.copy_preview_choice())
        self.engine_choice = W.ToggleButtons(
            options=[("Dask", "dask"), ("in-process", "inprocess")],
            value="dask",
            style={"button_width": "90px"},
            description="engine",
        )
        self.recon_button = W.Button(
            description="Reconstruct volume",
            icon="cubes",
            button_style="primary",
            layout=W.Layout(width="200px"),
        )
        self.recon_button.add_class("daisy-tomo-recon")
        self.recon_button.on_click(lambda _b: c.guard(self.reconstruct_volume))
        self.recon_job = JobProgress("Volume reconstruction")
        self.recon_job.add_class("daisy-tomo-recon-job")
        self._set_range()
        self.observe_model(lambda _c: self._set_range(), "scan")  # before the slices: the range first
        self.bind(self.slices, "slices", to_model=lambda v: (int(v[0]), int(v[1])))
        self.observe_model(lambda _c: self._show_size(), "slices")
        for widget, trait in (
            (self.recon_algorithm, "recon_algorithm"),
            (self.recon_filter, "recon_filter"),
            (self.backend, "backend"),
            (self.engine_choice, "engine"),
        ):
            self.bind(widget, trait)
        box = W.VBox(
            [
                W.HTML(
                    "The volume runs as a workflow (normalise → [zingers] → minus-log or phase → [stripes] → "
                    "[motion] → reconstruct) with the settings of the earlier stages."
                ),
                self.slices,
                self.size_info,
                W.HBox([self.recon_algorithm, self.recon_filter, self.same_as_preview]),
                W.HBox([self.backend, self.engine_choice]),
                self.recon_button,
                self.recon_job,
            ],
            layout=W.Layout(width="900px"),
        )
        return [box]

    def refresh(self) -> None:
        self._show_size()

    def copy_preview_choice(self) -> None:
        """Use the preview's algorithm and filter for the volume."""
        with self.model.hold_trait_notifications():
            self.model.recon_algorithm = self.model.algorithm
            self.model.recon_filter = self.model.filter

    def reconstruct_volume(self, wait: bool = False) -> threading.Thread:
        """Run the chain on the selected slices as a workflow (Dask by default) in the background."""
        if self.recon_job.running:
            raise ValueError("a reconstruction is already running; cancel it first")
        job, done, title = self.controller.volume_job()
        t = self.recon_job.run_in_thread(
            job, title=title, on_success=self.controller.safe(done), on_error=self.controller.error
        )
        if wait:
            t.join()
        return t

    def _set_range(self) -> None:
        scan = self.model.scan
        self.recon_button.disabled = scan is None
        if scan is not None:
            self.slices.max = scan.shape[1] - 1

    def _show_size(self) -> None:
        scan = self.model.scan
        if scan is None:
            return
        a, b = self.model.slices
        nc = scan.shape[2]
        mb = (b - a + 1) * nc * nc * 4 / 2**20
        self.size_info.value = (
            f"<span style='color:#555'>{b - a + 1} slices of {nc}×{nc} px = {mb:.0f} MiB (float32)</span>"
        )


__all__ = ["ReconstructStage"]
