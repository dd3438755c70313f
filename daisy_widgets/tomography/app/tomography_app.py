"""The tomography app: eight stages over one model, composed as tabs with a message bar.

This module only composes: :class:`~.model.TomographyModel` (the state),
:class:`~.controller.TomographyController` (the work, the workflow engine) and
one view per stage (``stage_*.py``, plus the live :class:`~.preview_panel.PreviewPanel`
shared by stages 3-6). A stage is rendered when its tab is first shown. For
scripts and tests, the app also answers the stages' widgets and the model's
results by name (``app.center_slider``, ``app.volume``): asking for a widget
renders its stage.
"""

from __future__ import annotations

import html
import os
import threading
from typing import Any

import ipywidgets as W

from ...widgets.stage import Stage
from ...widgets.url_state import CopyLink, query_params
from .controller import TomographyController
from .logic import find_sample_scan
from .model import TomographyModel
from .preview_panel import PreviewPanel
from .stage_centre import CentreStage
from .stage_motion import MotionStage
from .stage_open import OpenStage
from .stage_preprocess import PreprocessStage
from .stage_preview import PreviewStage
from .stage_raw import RawDataStage
from .stage_reconstruct import ReconstructStage
from .stage_result import ResultStage
from .url_state import apply_state, follow_state

#: (key, view class) of the stages, in tab order
STAGE_CLASSES: tuple[tuple[str, type[Stage]], ...] = (
    ("open", OpenStage),
    ("raw", RawDataStage),
    ("preprocess", PreprocessStage),
    ("centre", CentreStage),
    ("motion", MotionStage),
    ("preview", PreviewStage),
    ("reconstruct", ReconstructStage),
    ("result", ResultStage),
)
STAGES = tuple(cls.title for _key, cls in STAGE_CLASSES)
#: the stages shown with the live preview panel beside them
_WITH_PREVIEW = ("preprocess", "centre", "motion", "preview")

#: widgets reachable as attributes of the app, by the stage that owns them
_WIDGETS = {
    "open": (
        "browser",
        "metadata",
        "service_list",
        "service_open_button",
        "service_refresh_button",
        "layout_form",
    ),
    "raw": ("raw_kind", "raw_view", "raw_contrast", "sino_view", "sino_contrast", "raw_row"),
    "panel": ("preview_view", "preview_contrast", "preview_status", "preview_row"),
    "preprocess": ("forms", "enabled", "before_view", "after_view"),
    "centre": (
        "center_methods",
        "center_auto_button",
        "center_value",
        "center_slider",
        "sweep_n",
        "sweep_step",
        "sweep_button",
        "sweep_box",
    ),
    "motion": (
        "motion_form",
        "motion_rows",
        "motion_button",
        "motion_use",
        "motion_job",
        "motion_before",
        "motion_after",
        "shift_lines",
        "shift_plot",
    ),
    "preview": ("algorithm", "filter", "iterations", "preview_button", "auto_preview", "preview_binning"),
    "reconstruct": (
        "backend",
        "slices",
        "size_info",
        "recon_algorithm",
        "recon_filter",
        "same_as_preview",
        "engine_choice",
        "recon_button",
        "recon_job",
    ),
    "result": ("volume_view", "save_path", "save_format", "overwrite", "save_button", "saved"),
}
_OWNER = {name: key for key, names in _WIDGETS.items() for name in names}

#: read-only results of the model, as attributes of the app
_RESULTS = {
    "scan": lambda m: m.scan,
    "center": lambda m: m.center,
    "center_method": lambda m: m.center_method,
    "sweep": lambda m: m.sweep,
    "shifts": lambda m: None if m.motion is None else m.motion.shifts,
    "aligned": lambda m: m.aligned,
    "preview_image": lambda m: None if m.preview is None else m.preview.image,
    "preview_seconds": lambda m: None if m.preview is None else m.preview.seconds,
    "volume": lambda m: None if m.volume is None else m.volume.data,
    "volume_params": lambda m: {} if m.volume is None else m.volume.params,
    "volume_first_slice": lambda m: 0 if m.volume is None else m.volume.first_slice,
    "volume_input": lambda m: None if m.volume is None else m.volume.input_path,
    "saved_paths": lambda m: m.saved_paths,
    "errors": lambda m: m.errors,
}


def message_html(text: str, error: bool) -> str:
    """The message bar's content: a green note, or a red warning."""
    if error:
        return (
            "<div style='padding:4px 8px;background:#fdecea;color:#8a1c12;border-radius:4px'>"
            f"⚠ {html.escape(text)}</div>"
        )
    return f"<div style='padding:4px 8px;background:#eef5ee;border-radius:4px'>{html.escape(text)}</div>"


class TomographyApp(W.VBox):
    """The tomography web app: from a raw scan to a saved 3-D volume, in eight stages.

    ``apps/tomography.ipynb`` builds one and Voila serves it. Every button calls a
    public method, so everything the page does can be driven from Python::

        app = TomographyApp(data_dir="data")
        app.open_scan("data/tomo_sample.h5")        # 1. open (metadata)
        app.raw_row.value = 8                        # 2. raw viewer: sinogram of row 8
        app.set_preprocessing(stripes={"method": "sorting"})   # 3. preprocessing
        app.find_center_auto(); app.sweep_centres(); app.pick_centre(3)   # 4. centre
        app.estimate_motion(wait=True)               # 5. motion (optional)
        app.update_preview(wait=True)                # 6. one-slice preview
        app.reconstruct_volume(wait=True)            # 7. volume on the Dask engine
        app.save("out.h5")                           # 8. result + save

    CSS classes for browser tests: ``daisy-tomo-app``, ``daisy-tomo-message`` (``daisy-tomo-error``
    while it shows an error), ``daisy-copy-link`` (the view's shareable address), ``daisy-tomo-tabs``, ``daisy-tomo-<stage>-panel``, and those of the stages.

    Parameters
    ----------
    data_dir
        Folder to browse for scans (default :func:`~.logic.default_data_dir`).
    results_dir
        Default folder for saved results (default ``$DAISY_RESULTS_DIR``, else ``~/daisy-results``).
    engine
        Workflow engine for the volume: ``"dask"`` (default) or ``"inprocess"``.
    scheduler
        Dask scheduler address (default ``$DAISY_DASK_SCHEDULER``, else a LocalCluster).
    engine_kw
        Extra :class:`~daisy_widgets.core.engine.DaskEngine` settings (e.g. ``processes=False``).
    open_default
        Open the sample scan found under ``data_dir`` at start.
    preview_delay
        Debounce time of the live preview (seconds).
    url_state
        The state to open (``{"file": ..., "stage": "centre", "center": "296.3"}``, see
        :mod:`.url_state`); default: the page's query string under Voila (``$QUERY_STRING``).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike | None = None,
        results_dir: str | os.PathLike | None = None,
        *,
        engine: str = "dask",
        scheduler: str | None = None,
        engine_kw: dict | None = None,
        open_default: bool = True,
        preview_delay: float = 0.2,
        url_state: dict[str, str] | None = None,
        **kw: Any,
    ):
        self.model = TomographyModel(engine=engine if engine in ("dask", "inprocess") else "dask")
        self.engine = engine
        self.controller = TomographyController(
            self.model,
            data_dir=data_dir,
            results_dir=results_dir,
            scheduler=scheduler or os.environ.get("DAISY_DASK_SCHEDULER") or None,
            engine_kw=engine_kw,
            service_url=os.environ.get("DAISY_TILED_URL") or None,
            preview_delay=preview_delay,
        )
        self.stages: dict[str, Stage] = {key: cls(self.model, self.controller) for key, cls in STAGE_CLASSES}
        self.stages["panel"] = PreviewPanel(self.model, self.controller)
        self.message = W.HTML(value="")
        self.message.add_class("daisy-tomo-message")
        self.model.observe(self._show_message, names=["message", "message_error"])
        self.model.observe(self._volume_done, names="volume")
        self.controller.on_live_complete = self._live_complete  # live mode: "reconstruct when complete"
        # a stage is put in its tab when first shown: figures laid out while hidden have no size
        self._content: list[W.Widget] = []
        for key, stage in self.stages.items():
            if key == "panel":
                continue
            if key in _WITH_PREVIEW:
                box = W.HBox([stage])
                box.add_class(f"daisy-tomo-{key}-panel")
                self._content.append(box)
            else:
                self._content.append(stage)
        self._placeholder = W.HTML("<i>loading…</i>")
        self._slots = [W.VBox([self._placeholder]) for _ in self._content]
        self.tabs = W.Tab(children=self._slots)
        for i, name in enumerate(STAGES):
            self.tabs.set_title(i, name)
        self.tabs.add_class("daisy-tomo-tabs")
        self.tabs.observe(lambda ch: self._mount(ch["new"]), names="selected_index")
        self.link = CopyLink()  # the view's address (file, stage, parameters), to share
        super().__init__(
            children=[self.message, self.link, self.tabs],
            layout=W.Layout(max_width="1330px", width="100%"),
            **kw,
        )
        self.add_class("daisy-tomo-app")
        self._mount(0)
        if self.controller.service_url:
            self.controller.background("service-list", self.controller.list_service_scans)
        shared = query_params() if url_state is None else dict(url_state)  # Voila: the page's query
        if shared.keys() & {"file", "result"}:
            open_default = False
        if open_default:
            sample = find_sample_scan(self.controller.data_dir)
            if sample is not None:
                self.stages["open"].select_file(sample)
                self.open_scan(sample)
        if shared:
            apply_state(self, shared)
        follow_state(self, self.link)

    # ================================================================== composition
    def stage(self, key: str) -> Stage:
        """The stage ``key`` (``open``, ``raw``, ``preprocess``, ``centre``, ``motion``, ``preview``,
        ``reconstruct``, ``result``, or ``panel``: the live preview), rendered."""
        return self.stages[key].render()

    def _mount(self, index: int | None) -> None:
        if index is None:
            return
        key = STAGE_CLASSES[index][0]
        self.stage(key)
        # only the shown stage is in the page: figures laid out or redrawn while hidden have no size
        for i, slot in enumerate(self._slots):
            if i != index and slot.children and slot.children[0] is self._content[i]:
                slot.children = [self._placeholder]
        content = self._content[index]
        if key in _WITH_PREVIEW:
            panel = self.stage("panel")
            for i, (k, _cls) in enumerate(STAGE_CLASSES):
                if k in _WITH_PREVIEW:
                    box = self._content[i]
                    box.children = box.children[:1] + ((panel,) if box is content else ())
        if self._slots[index].children[0] is not content:
            self._slots[index].children = [content]
        # views created now start from the models' state: send the figures' geometry again
        for view in _refreshable(content):
            view.refresh_view()

    def show_stage(self, name_or_index: str | int) -> None:
        """Select a stage's tab (by index or by title such as ``"4 Centre"``)."""
        i = STAGES.index(name_or_index) if isinstance(name_or_index, str) else int(name_or_index)
        if self.tabs.selected_index == i:
            self._mount(i)
        else:  # the tab is shown first, then filled (by the observer): figures never start hidden
            self.tabs.selected_index = i

    def _live_complete(self, path: str, center: float | None) -> None:
        """A scan followed live is complete: open it, use the live centre, reconstruct its volume."""
        if self.open_scan(path) is None:
            return
        if center is not None:
            self.set_center(center, "live")
        self.reconstruct_volume()

    def _volume_done(self, _change: Any = None) -> None:
        self.show_stage("8 Result")

    def close(self) -> None:
        """Close the stages and the controller: nothing keeps following the model afterwards.

        A second call (ipywidgets' ``__del__`` closes again) does nothing.
        """
        if self.__dict__.get("_app_closed"):
            return
        self.__dict__["_app_closed"] = True
        for stage in self.stages.values():
            stage.close()
        self.controller.close()
        self.model.unobserve(self._show_message, names=["message", "message_error"])
        self.model.unobserve(self._volume_done, names="volume")
        super().close()

    def _show_message(self, _change: Any = None) -> None:
        error = self.model.message_error
        (self.message.add_class if error else self.message.remove_class)("daisy-tomo-error")
        self.message.value = message_html(self.model.message, error)

    def __getattr__(self, name: str) -> Any:
        # only for names not found on the app: a stage's widget (rendering the stage) or a model result
        owner = _OWNER.get(name)
        if owner is not None and "stages" in self.__dict__:
            return getattr(self.stage(owner), name)
        if name in _RESULTS and "model" in self.__dict__:
            return _RESULTS[name](self.model)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ================================================================== what the buttons do
    @property
    def preview_runner(self) -> Any:
        """The debounced runner of the live preview (the controller's)."""
        return self.controller.preview_runner

    @property
    def service_url(self) -> str | None:
        """The data service listed in the Open stage (``$DAISY_TILED_URL``), or None."""
        return self.controller.service_url

    @service_url.setter
    def service_url(self, url: str | None) -> None:
        self.controller.service_url = url

    @property
    def data_dir(self) -> Any:
        return self.controller.data_dir

    @property
    def results_dir(self) -> Any:
        return self.controller.results_dir

    def info(self, text: str) -> None:
        """Show a neutral message."""
        self.controller.info(text)

    def error(self, exc_or_text: BaseException | str) -> None:
        """Show an error in plain words (the app stays usable)."""
        self.controller.error(exc_or_text)

    def wait_idle(self, timeout: float = 300.0) -> bool:
        """Wait for background work (preview, centre, motion, reconstruction); False on timeout."""
        threads = []
        if self.stages["motion"].rendered:
            threads.append(self.stages["motion"].motion_job.thread)
        if self.stages["reconstruct"].rendered:
            threads.append(self.stages["reconstruct"].recon_job.thread)
        return self.controller.wait_idle(timeout, tuple(threads))

    def open_scan(self, path: str | os.PathLike, layout: Any = None) -> Any:
        """Open a scan (file or ``tomography/<name>`` of the data service); None (and a message) if it cannot.

        A file of unknown layout opens the layout form (``app.layout_form``) unless ``layout`` names its parts.
        """
        return self.controller.open_scan(path, layout=layout)

    def open_with_layout(self, path: str | os.PathLike, layout: Any, remember: bool = True) -> Any:
        """Open ``path`` with ``layout`` (a :class:`~daisy_widgets.tomography.io.Layout` or dict), remembered
        for files named like it."""
        return self.controller.open_with_layout(path, layout, remember=remember)

    def list_service_scans(self) -> list[str]:
        """The data service's tomography scans (shown in the Open stage)."""
        return self.controller.list_service_scans()

    def open_from_service(self, name: str | None = None) -> Any:
        """Open the service's scan ``tomography/<name>`` (default: the one picked in the list)."""
        return self.stage("open").open_from_service(name)

    def set_preprocessing(self, **steps: dict[str, Any] | bool | None) -> None:
        """Switch steps on/off and set their parameters (see :meth:`TomographyController.set_preprocessing`)."""
        self.controller.set_preprocessing(**steps)

    def preprocess_settings(self) -> Any:
        """The enabled preprocessing steps with their validated values."""
        return self.controller.preprocess_settings()

    def set_center(self, value: float, method: str = "manual") -> None:
        """Use ``value`` (detector pixels) as the rotation axis."""
        self.controller.set_center(value, method)

    def find_center_auto(self) -> float:
        """Estimate the axis with the method chosen in the Centre stage."""
        return self.stage("centre").find_center_auto()

    def sweep_centres(self) -> list[dict[str, Any]]:
        """Trial reconstructions around the current centre, as in the Centre stage."""
        return self.stage("centre").sweep_centres()

    def pick_centre(self, index: int) -> float:
        """Use the centre of sweep trial ``index``."""
        return self.controller.pick_centre(index)

    def estimate_motion(self, wait: bool = False) -> threading.Thread:
        """Estimate the motion (Motion stage settings) in the background."""
        return self.stage("motion").estimate_motion(wait)

    def snapshot(self) -> dict[str, Any]:
        """The settings the next preview uses."""
        return self.controller.snapshot()

    def update_preview(self, wait: bool = False, force: bool = False) -> None:
        """Ask for a new preview (debounced, in the background); ``wait`` blocks until it is shown."""
        self.controller.update_preview(wait, force)

    def sinogram(self, row: int, settings: Any = None, token: Any = None, motion: bool | None = None) -> Any:
        """Preprocessed sinogram (angles, cols) of detector ``row``."""
        return self.controller.sinogram(row, settings, token, motion)

    def reconstruct_volume(self, wait: bool = False) -> threading.Thread:
        """Run the volume as a workflow (Reconstruct stage settings) in the background."""
        return self.stage("reconstruct").reconstruct_volume(wait)

    def save(
        self, path: str | os.PathLike | None = None, fmt: str | None = None, overwrite: bool | None = None
    ) -> str:
        """Save the volume (Result stage defaults); returns the path."""
        return self.stage("result").save(path, fmt, overwrite)


def _refreshable(widget: Any) -> list[Any]:
    """Widgets under ``widget`` (included) that can re-send their figures' state (``refresh_view``)."""
    out, stack = [], [widget]
    while stack:
        w = stack.pop()
        if hasattr(w, "refresh_view"):
            out.append(w)
        stack.extend(getattr(w, "children", ()) or ())
    return out


def build_app(**kw: Any) -> TomographyApp:
    """The app as ``apps/tomography.ipynb`` builds it."""
    return TomographyApp(**kw)


__all__ = ["TomographyApp", "build_app", "STAGES", "STAGE_CLASSES"]
