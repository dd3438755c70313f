"""The tomography app: from a raw scan to a saved 3-D volume, in eight stages.

``TomographyApp`` is an ipywidgets composition over the tomography library and
the workflow engine; ``apps/tomography.ipynb`` builds one and Voila serves it.
Every button calls a public method, so everything the page does can be driven
from Python (tests, notebooks) without a browser::

    app = TomographyApp(data_dir="data")
    app.open_scan("data/tomo_sample.h5")        # 1. open (metadata)
    app.raw_row.value = 8                        # 2. raw viewer: sinogram of row 8
    app.set_preprocessing(stripes={"method": "sorting"})   # 3. preprocessing
    app.find_center_auto(); app.sweep_centres(); app.pick_centre(3)   # 4. centre
    app.estimate_motion(wait=True)               # 5. motion (optional)
    app.update_preview(wait=True)                # 6. one-slice preview
    app.reconstruct_volume(wait=True)            # 7. volume on the Dask engine
    app.save("out.h5")                           # 8. result + save

Stages are tabs; the live slice preview sits beside the controls of stages 3-6
and follows every change (debounced; a stale computation is dropped). Long
jobs run in background threads, so the page stays responsive and Cancel works.
Every error is shown in plain words in the message bar and leaves the app usable.

CSS classes for browser tests: ``daisy-tomo-app``, ``daisy-tomo-message``
(``daisy-tomo-error`` while it shows an error), ``daisy-tomo-tabs``,
``daisy-tomo-metadata``, ``daisy-tomo-center-value``, ``daisy-tomo-sweep``,
``daisy-tomo-preview``, ``daisy-tomo-preview-status``, ``daisy-tomo-recon``,
``daisy-tomo-save``, ``daisy-tomo-saved``; the widgets keep their own classes.
"""

from __future__ import annotations

import html
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np

from ..core.backend import gpu_available
from ..core.errors import ValidationError
from ..widgets.colormaps import image_png, percentile_window
from ..widgets.contrast import ContrastControl
from ..widgets.debounce import DebouncedRunner
from ..widgets.file_browser import FileBrowser
from ..widgets.form import ParamForm
from ..widgets.image_view import ImageView
from ..widgets.progress import JobProgress
from ..widgets.volume_view import VolumeView
from .app_logic import (
    SCAN_EXTENSIONS,
    PreprocessSettings,
    bin_detector,
    build_recon_workflow,
    centre_sweep,
    check_memory,
    default_data_dir,
    find_sample_scan,
    plain_error,
    preprocess_block,
    preview_binning,
    recon_options,
    rows_around,
    trial_centres,
)

STAGES = (
    "1 Open",
    "2 Raw data",
    "3 Preprocess",
    "4 Centre",
    "5 Motion",
    "6 Preview",
    "7 Reconstruct",
    "8 Result",
)
_ALGORITHMS = (
    ("FBP (filtered back-projection)", "fbp"),
    ("Gridrec (Fourier)", "gridrec"),
    ("SIRT (iterative)", "sirt"),
    ("CGLS (iterative)", "cgls"),
)
_FILTERS = ("ramp", "shepp-logan", "cosine", "hamming", "hann", "parzen")


def _algo_class(name: str) -> type:
    from . import algorithms as A

    return {a.name: a for a in A.ALGORITHMS}[name]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


class TomographyApp(W.VBox):
    """The tomography web app (see the module docstring).

    Parameters
    ----------
    data_dir
        Folder to browse for scans (default :func:`~daisy_widgets.tomography.app_logic.default_data_dir`).
    results_dir
        Default folder for saved results (default ``$DAISY_RESULTS_DIR``, else ``~/daisy-results``:
        the data folder may be shared by several users).
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
        **kw: Any,
    ):
        self.data_dir = Path(data_dir).expanduser().resolve() if data_dir else default_data_dir()
        self.results_dir = (
            Path(results_dir).expanduser()
            if results_dir
            else Path(os.environ.get("DAISY_RESULTS_DIR", Path.home() / "daisy-results"))
        )
        self.engine = engine
        self.scheduler = scheduler or os.environ.get("DAISY_DASK_SCHEDULER") or None
        self.engine_kw = dict(engine_kw or {})
        self.scan: Any = None
        self.center: float | None = None
        self.center_method: str = ""
        self.sweep: list[dict[str, Any]] = []
        self.shifts: np.ndarray | None = None
        self.aligned: tuple[slice, np.ndarray] | None = None  # (rows, aligned sinograms (rows, angles, cols))
        self.preview_image: np.ndarray | None = None
        self.preview_seconds: float | None = None
        self.volume: np.ndarray | None = None
        self.volume_params: dict[str, Any] = {}
        self.volume_first_slice = 0
        self.volume_input: str | None = None
        self.saved_paths: list[str] = []
        self.errors: list[str] = []
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._shown_sinogram: tuple | None = None
        self._cache_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._quiet = False

        self.message = W.HTML(value="")
        self.message.add_class("daisy-tomo-message")
        self._build_open()
        self._build_raw()
        self._build_preview()
        self._build_preprocess()
        self._build_centre()
        self._build_motion()
        self._build_preview_tab()
        self._build_recon()
        self._build_result()
        self.pre_tab = W.HBox([self.pre_left, self.preview_panel])
        self.centre_tab = W.HBox([self.centre_left, self.preview_panel])
        self.motion_tab = W.HBox([self.motion_left, self.preview_panel])
        self.preview_tab = W.HBox([self.preview_left, self.preview_panel])
        for w, name in (
            (self.pre_tab, "preprocess"),
            (self.centre_tab, "centre"),
            (self.motion_tab, "motion"),
            (self.preview_tab, "preview"),
        ):
            w.add_class(f"daisy-tomo-{name}-panel")
        self.pre_tab.children = [self.pre_left]  # the preview panel goes where the user is (_mount)
        self.centre_tab.children = [self.centre_left]
        self.motion_tab.children = [self.motion_left]
        self.preview_tab.children = [self.preview_left]
        # a stage's content is put in its tab when first shown: figures laid out while hidden have no size
        self.stage_content = [
            self.open_tab,
            self.raw_tab,
            self.pre_tab,
            self.centre_tab,
            self.motion_tab,
            self.preview_tab,
            self.recon_tab,
            self.result_tab,
        ]
        self._placeholder = W.HTML("<i>loading…</i>")
        self._slots = [
            W.VBox([c] if i == 0 else [self._placeholder]) for i, c in enumerate(self.stage_content)
        ]
        self.tabs = W.Tab(children=self._slots)
        for i, name in enumerate(STAGES):
            self.tabs.set_title(i, name)
        self.tabs.add_class("daisy-tomo-tabs")
        self.tabs.observe(lambda ch: self._mount(ch["new"]), names="selected_index")
        self.preview_runner = DebouncedRunner(
            self._preview_job,
            delay=preview_delay,
            on_result=self._safe(self._show_preview),
            on_error=self._preview_failed,
            on_state=self._preview_state,
        )
        super().__init__(
            children=[self.message, self.tabs], layout=W.Layout(max_width="1330px", width="100%"), **kw
        )
        self.add_class("daisy-tomo-app")
        self._set_enabled(False)
        if self.service_url:
            self._background("service-list", self.list_service_scans)
        if open_default:
            sample = find_sample_scan(self.data_dir)
            if sample is not None:
                self.browser.cwd = (
                    sample.parent.resolve()
                    if self.browser._inside(sample.parent.resolve())
                    else self.browser.cwd
                )
                self.browser.refresh()
                if sample.name in self.browser.entries:
                    self.browser.select(sample.name)
                self.open_scan(sample)

    def _mount(self, index: int | None) -> None:
        if index is None:
            return
        # only the shown stage is in the page: figures laid out or redrawn while hidden have no size
        for i, slot in enumerate(self._slots):
            if i != index and slot.children and slot.children[0] is self.stage_content[i]:
                slot.children = [self._placeholder]
        content = self.stage_content[index]
        if content in (self.pre_tab, self.centre_tab, self.motion_tab, self.preview_tab):
            for box in (self.pre_tab, self.centre_tab, self.motion_tab, self.preview_tab):
                box.children = box.children[:1] + ((self.preview_panel,) if box is content else ())
        if self._slots[index].children[0] is not self.stage_content[index]:
            self._slots[index].children = [self.stage_content[index]]
        # views created now start from the models' state: send the figures' geometry again
        for view in _refreshable(self.stage_content[index]):
            view.refresh_view()

    def show_stage(self, name_or_index: str | int) -> None:
        """Select a stage's tab (by index or by title such as ``"4 Centre"``)."""
        i = STAGES.index(name_or_index) if isinstance(name_or_index, str) else int(name_or_index)
        if self.tabs.selected_index == i:
            self._mount(i)
        else:  # the tab is shown first, then filled (by the observer): figures never start hidden
            self.tabs.selected_index = i

    # ================================================================== messages and threads
    def info(self, text: str) -> None:
        """Show a neutral message."""
        self.message.remove_class("daisy-tomo-error")
        self.message.value = (
            f"<div style='padding:4px 8px;background:#eef5ee;border-radius:4px'>{html.escape(text)}</div>"
        )

    def error(self, exc_or_text: BaseException | str) -> None:
        """Show an error in plain words (the app stays usable)."""
        text = exc_or_text if isinstance(exc_or_text, str) else plain_error(exc_or_text)
        self.errors.append(text)
        self.message.add_class("daisy-tomo-error")
        self.message.value = (
            "<div style='padding:4px 8px;background:#fdecea;color:#8a1c12;border-radius:4px'>"
            f"⚠ {html.escape(text)}</div>"
        )

    def _guard(self, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except Exception as exc:
            self.error(exc)
            return None

    def _safe(self, fn: Any) -> Any:
        """Wrap a callback run in a worker thread: a failure is shown on the page, not lost in the thread."""

        def call(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as exc:
                import traceback

                traceback.print_exc()
                self.error(exc)

        return call

    def _background(self, name: str, fn: Any, wait: bool = False) -> threading.Thread:
        t = threading.Thread(target=self._guard, args=(fn,), name=f"daisy-tomo-{name}", daemon=True)
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()
        if wait:
            t.join()
        return t

    def wait_idle(self, timeout: float = 300.0) -> bool:
        """Wait for background work (preview, centre, motion, reconstruction); False on timeout."""
        end = time.monotonic() + timeout
        for t in list(self._threads) + [x for x in (self.motion_job.thread, self.recon_job.thread) if x]:
            t.join(max(0.0, end - time.monotonic()))
        return self.preview_runner.wait(max(0.0, end - time.monotonic())) and not any(
            t.is_alive() for t in self._threads
        )

    def _set_enabled(self, on: bool) -> None:
        for w in (
            self.center_auto_button,
            self.sweep_button,
            self.motion_button,
            self.recon_button,
            self.preview_button,
        ):
            w.disabled = not on

    # ================================================================== 1. open
    def _build_open(self) -> None:
        self.browser = FileBrowser(self.data_dir, extensions=SCAN_EXTENSIONS, rows=10, width=460)
        self.browser.on_open(lambda path: self._guard(self.open_scan, path))
        self.metadata = W.HTML(
            value="<i>No scan open. Pick a Data Exchange or NXtomo file and press Open.</i>"
        )
        self.metadata.add_class("daisy-tomo-metadata")
        left = [W.HTML("<b>Data folder</b>"), self.browser]
        self.service_url = os.environ.get("DAISY_TILED_URL") or None
        self.service_list = W.Select(options=[], rows=5, layout=W.Layout(width="460px"))
        self.service_list.add_class("daisy-tomo-service-list")
        self.service_open_button = W.Button(
            description="Open from service", icon="cloud-download", layout=W.Layout(width="160px")
        )
        self.service_refresh_button = W.Button(
            description="Refresh", icon="refresh", layout=W.Layout(width="100px")
        )
        self.service_open_button.on_click(lambda _b: self._guard(self.open_from_service))
        self.service_refresh_button.on_click(lambda _b: self._guard(self.list_service_scans))
        if self.service_url:
            left += [
                W.HTML(
                    f"<b>Data service</b> <span style='color:#555'>{html.escape(self.service_url)}</span>"
                ),
                self.service_list,
                W.HBox([self.service_open_button, self.service_refresh_button]),
            ]
        self.open_tab = W.HBox(
            [
                W.VBox(left),
                W.VBox(
                    [W.HTML("<b>Scan</b>"), self.metadata],
                    layout=W.Layout(margin="0 0 0 16px", width="560px"),
                ),
            ]
        )

    def list_service_scans(self) -> list[str]:
        """The tomography scans of the data service (``DAISY_TILED_URL``), shown in the Open stage.

        Returns the entry names; an unreachable service shows an error and returns [].
        """
        from ..store import connect

        try:
            client = connect(self.service_url, structure_clients="numpy")
            node = client.get("tomography", {})
            options = []
            for name in node:
                shape = dict(node[name].metadata).get("shape")
                label = f"{name}  ({' × '.join(str(v) for v in shape)})" if shape else name
                options.append((label, name))
        except Exception as exc:
            self.error(exc)
            return []
        self.service_list.options = options
        if options and self.service_list.value is None:
            self.service_list.value = options[0][1]
        return [v for _, v in options]

    def open_from_service(self, name: str | None = None) -> Any:
        """Open the service's scan ``tomography/<name>`` (default: the one picked in the list):
        its arrays are read from the service chunk by chunk, nothing is downloaded whole."""
        name = name or self.service_list.value
        if not name:
            if not self.service_list.options:
                self.list_service_scans()
            name = self.service_list.value
        if not name:
            self.error("no scan picked: the data service lists no tomography scan")
            return None
        return self.open_scan(f"tomography/{name}")

    def open_scan(self, path: str | os.PathLike) -> Any:
        """Open a scan (Data Exchange or NXtomo file, or a data-service entry ``tomography/<name>``),
        show its metadata and reset the later stages.

        A bad file shows an error and keeps the scan open before (if any).
        """
        from ..store import open_scan

        try:
            scan = open_scan(path, url=self.service_url)
        except Exception as exc:
            self.error(exc)
            return None
        self.scan = scan
        self._cache.clear()
        self.center, self.center_method, self.sweep, self.shifts, self.aligned = None, "", [], None, None
        na, nr, nc = scan.shape
        th = scan.theta
        meta = scan.metadata
        rows = [
            ("file", html.escape(str(scan.path))),
            ("projections", f"{na} angles × {nr} rows × {nc} columns ({scan.projections.dtype})"),
            (
                "angles",
                f"{th.min():.2f}° … {th.max():.2f}° (step {np.median(np.diff(th)) if na > 1 else 0:.3f}°)",
            ),
            (
                "flats",
                "none"
                if scan.flats is None
                else f"{scan.flats.shape[0]} frames"
                + ("" if scan.flats_after is None else f" + {scan.flats_after.shape[0]} after the scan"),
            ),
            ("darks", "none" if scan.darks is None else f"{scan.darks.shape[0]} frames"),
            ("energy", f"{meta['energy']} keV" if "energy" in meta else "not in the file"),
            (
                "pixel size",
                f"{float(meta['pixel_size']) * 1e6:.3g} µm" if "pixel_size" in meta else "not in the file",
            ),
            ("distance", f"{meta['distance']} m" if "distance" in meta else "not in the file"),
        ]
        rows += [
            (k, html.escape(_fmt(v)))
            for k, v in meta.items()
            if k not in ("energy", "pixel_size", "distance")
        ]
        self.metadata.value = (
            "<table style='font-size:13px'>"
            + "".join(
                f"<tr><td style='padding-right:12px;color:#555'>{k}</td><td>{v}</td></tr>" for k, v in rows
            )
            + "</table>"
        )
        self._quiet = True
        try:
            self._setup_raw()
            self._setup_controls()
        finally:
            self._quiet = False
        self._set_enabled(True)
        self.info(f"Opened {Path(scan.path).name}: {na} projections of {nr}×{nc} pixels.")
        self.update_preview()
        return scan

    # ================================================================== 2. raw data
    def _build_raw(self) -> None:
        self.raw_kind = W.ToggleButtons(
            options=["projections", "flats", "darks"], value="projections", style={"button_width": "96px"}
        )
        self.raw_kind.observe(lambda _c: self._guard(self._show_raw_kind), names="value")
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
        self.raw_tab = W.HBox(
            [
                W.VBox([self.raw_kind, self.raw_view, self.raw_contrast]),
                W.VBox(
                    [W.HTML("&nbsp;"), self.sino_view, self.sino_contrast],
                    layout=W.Layout(margin="0 0 0 12px"),
                ),
            ]
        )

    def _setup_raw(self) -> None:
        scan = self.scan
        self.raw_kind.value = "projections"
        self._show_raw_kind()
        na, nr, nc = scan.shape
        proj = scan.projections
        self.sino_view.set_stack(
            frame=lambda r: proj[:, r, :], n=nr, index=nr // 2, frame_names=[f"row {r}" for r in range(nr)]
        )

    def _show_raw_kind(self) -> None:
        if self.scan is None:
            return
        kind = self.raw_kind.value
        arr = {"projections": self.scan.projections, "flats": self.scan.flats, "darks": self.scan.darks}[kind]
        if arr is None:
            self.error(f"This scan has no {kind}.")
            return
        names = (
            [f"{a:.2f}°" for a in self.scan.theta]
            if kind == "projections"
            else [f"{kind[:-1]} {i + 1}/{arr.shape[0]}" for i in range(arr.shape[0])]
        )
        self.raw_view.title.value = f"<b>{kind.capitalize()}</b>"
        self.raw_view.slider.description = "angle" if kind == "projections" else "frame"
        self.raw_view.set_stack(frame=lambda i: arr[i], n=arr.shape[0], index=0, frame_names=names)

    # ================================================================== live preview panel
    def _build_preview(self) -> None:
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
        self.preview_row.observe(self._changed, names="value")
        self.preview_panel = W.VBox(
            [self.preview_row, self.preview_view, self.preview_status, self.preview_contrast],
            layout=W.Layout(width="420px", margin="0 0 0 12px"),
        )

    def _changed(self, _change: Any = None) -> None:
        if not self._quiet:
            self.update_preview()

    # ================================================================== 3. preprocessing
    def _build_preprocess(self) -> None:
        self.forms: dict[str, ParamForm] = {}
        self.enabled: dict[str, W.Checkbox] = {}
        boxes = []
        for key, algo, label, on in (
            ("normalize", "tomo.normalize", "Flat/dark normalisation (always on)", True),
            ("zingers", "tomo.remove_zingers", "Zinger / outlier removal", False),
            ("stripes", "tomo.remove_stripes", "Stripe (ring) removal", False),
            ("phase", "tomo.phase_retrieval", "Phase retrieval (Paganin)", False),
        ):
            form = ParamForm(_algo_class(algo), on_change=lambda _f: self._pre_changed())
            cb = W.Checkbox(
                value=on,
                description=label,
                indent=False,
                disabled=key == "normalize",
                layout=W.Layout(width="320px"),
            )
            cb.add_class(f"daisy-tomo-enable-{key}")
            cb.observe(lambda _c: self._pre_changed(), names="value")
            self.forms[key], self.enabled[key] = form, cb
            boxes.append(
                W.VBox([cb, form], layout=W.Layout(border="1px solid #ddd", padding="4px", margin="2px 0"))
            )
        self.before_view = ImageView(
            "Before (flat/dark + minus-log only)",
            width=380,
            height=230,
            max_size=512,
            labels=("column", "angle index"),
            show_cmap=False,
        )
        self.after_view = ImageView(
            "After (enabled steps)",
            width=380,
            height=230,
            max_size=512,
            labels=("column", "angle index"),
            show_cmap=False,
        )
        self.pre_left = W.VBox(
            boxes + [W.HBox([self.before_view, self.after_view])], layout=W.Layout(width="800px")
        )

    def _pre_changed(self) -> None:
        if self._quiet:
            return
        self._cache.clear()
        self.aligned = None  # the motion estimate was made on other data
        self.update_preview()

    def set_preprocessing(self, **steps: dict[str, Any] | bool | None) -> None:
        """Switch steps on/off and set their parameters, e.g. ``set_preprocessing(stripes={"method": "fw"}, phase=False)``."""
        self._quiet = True
        try:
            for key, value in steps.items():
                if key not in self.forms:
                    raise ValueError(
                        f"unknown preprocessing step {key!r}: expected one of {', '.join(self.forms)}"
                    )
                if value is False or value is None:
                    self.enabled[key].value = key == "normalize"
                    continue
                self.enabled[key].value = True
                if isinstance(value, dict):
                    self.forms[key].set_values(value)
        finally:
            self._quiet = False
        self._pre_changed()

    def preprocess_settings(self) -> PreprocessSettings:
        """The enabled steps with their validated values (raises ValidationError naming the bad fields)."""
        problems: dict[str, list[str]] = {}
        vals: dict[str, Any] = {}
        for key, form in self.forms.items():
            if not self.enabled[key].value:
                vals[key] = None
                continue
            probs = form.problems
            if probs:
                for k, v in probs.items():
                    problems[f"{key}.{k}"] = v
                continue
            vals[key] = form.coerced
        if problems:
            raise ValidationError("preprocessing", problems)
        return PreprocessSettings(
            normalize=vals["normalize"] or {},
            zingers=vals["zingers"],
            phase=vals["phase"],
            stripes=vals["stripes"],
        )

    # ================================================================== 4. centre
    def _build_centre(self) -> None:
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
        self.center_auto_button.on_click(lambda _b: self._background("centre", self.find_center_auto))
        self.center_value = W.HTML(value="<i>not estimated yet (the detector middle is used)</i>")
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
        self.center_slider.observe(self._centre_moved, names="value")
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
        self.sweep_button.on_click(lambda _b: self._background("sweep", self.sweep_centres))
        self.sweep_box = W.HBox([], layout=W.Layout(flex_flow="row wrap", width="800px"))
        self.sweep_box.add_class("daisy-tomo-sweep")
        self.centre_left = W.VBox(
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

    def _centre_moved(self, change: dict) -> None:
        if self._quiet:
            return
        self.center = float(change["new"])
        self.center_method = "refined by hand"
        self._show_centre()
        self.update_preview()

    def set_center(self, value: float, method: str = "manual") -> None:
        """Use ``value`` (detector pixels) as the rotation axis."""
        if self.scan is None:
            raise ValueError("open a scan first")
        w = self.scan.shape[2]
        if not 0 <= float(value) <= w - 1:
            raise ValidationError(
                "centre",
                {"center": [f"expected a rotation axis inside the detector, 0..{w - 1} px; got {value}"]},
            )
        self.center, self.center_method = float(value), method
        self._quiet = True
        try:
            self.center_slider.value = float(value)
        finally:
            self._quiet = False
        self._show_centre()
        self.update_preview()

    def _show_centre(self) -> None:
        if self.center is None:
            return
        w = self.scan.shape[2]
        self.center_value.value = (
            f"centre <b>{self.center:.2f} px</b> ({self.center_method}); detector middle "
            f"{(w - 1) / 2:.1f} px, offset {self.center - (w - 1) / 2:+.2f} px"
        )

    def find_center_auto(self) -> float:
        """Estimate the axis with the chosen method on the preprocessed sinograms of the preview row ± 3 rows."""
        from . import find_center

        method = self.center_methods.value
        self.center_value.value = f"<i>estimating ({method})…</i>"
        row, nr = self.preview_row.value, self.scan.shape[1]
        if method == "entropy":  # the image-quality sweep reconstructs: one row is enough
            sino = self.sinogram(row)
        else:  # averaging a few rows makes the estimate robust to noise and rings
            sino = np.stack(
                [self.sinogram(r) for r in range(rows_around(row, nr, 3).start, rows_around(row, nr, 3).stop)]
            )
        th = self.scan.theta_rad
        label = {
            "auto": "auto: Vo's Fourier metric",
            "vo": "Vo's Fourier metric",
            "com": "centre of mass",
            "entropy": "entropy sweep",
        }[method]
        if method == "auto":
            # two independent methods; when they disagree, an image-quality sweep between them decides
            c_vo, c_com = float(find_center(sino, th, "vo")), float(find_center(sino, th, "com"))
            if abs(c_vo - c_com) <= 1.5:
                c = c_vo
                label = f"auto: Vo's Fourier metric, confirmed by centre of mass {c_com:.2f}"
            else:
                lo, hi = min(c_vo, c_com) - 2.0, max(c_vo, c_com) + 2.0
                w = self.scan.shape[2]
                c = float(
                    find_center(self.sinogram(row), th, "entropy", search=(max(lo, 1.0), min(hi, w - 2.0)))
                )
                label = (
                    f"auto: Vo {c_vo:.2f} and centre of mass {c_com:.2f} disagree; entropy sweep between them"
                )
        else:
            c = float(find_center(sino, th, method))
        self.set_center(c, label)
        self.info(f"Rotation centre {c:.2f} px ({label}).")
        return c

    def sweep_centres(self) -> list[dict[str, Any]]:
        """Reconstruct the preview row at trial centres around the current one; show them as clickable thumbnails."""
        sino = self.sinogram(self.preview_row.value)
        w = self.scan.shape[2]
        c0 = self.center if self.center is not None else (w - 1) / 2.0
        cs = trial_centres(c0, int(self.sweep_n.value), float(self.sweep_step.value), w)
        self.sweep_box.children = [W.HTML("<i>reconstructing trials…</i>")]
        trials = centre_sweep(sino, self.scan.theta_rad, cs, filter=self.filter.value, thumb=140)
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
            b.on_click(lambda _b, i=i: self._guard(self.pick_centre, i))
            cells.append(W.VBox([img, b], layout=W.Layout(margin="2px")))
        self.sweep = trials
        self.sweep_box.children = cells
        if trials:
            self.info(
                f"Sweep of {len(trials)} centres; the sharpest looks like {trials[best]['center']:.2f} px "
                "(highlighted). Click one to use it."
            )
        return trials

    def pick_centre(self, index: int) -> float:
        """Use the centre of sweep trial ``index``."""
        c = self.sweep[index]["center"]
        self.set_center(c, "picked from the sweep")
        for i, cell in enumerate(self.sweep_box.children):
            cell.children[1].button_style = "info" if i == index else ""
        return c

    # ================================================================== 5. motion
    def _build_motion(self) -> None:
        self.motion_form = ParamForm(_algo_class("tomo.align"))
        self.motion_rows = W.BoundedIntText(
            value=8,
            min=1,
            max=64,
            description="rows ±",
            tooltip="detector rows above and below the preview row used for the estimate",
            layout=W.Layout(width="160px"),
        )
        self.motion_button = W.Button(description="Estimate motion", icon="arrows", button_style="primary")
        self.motion_button.add_class("daisy-tomo-motion-run")
        self.motion_button.on_click(lambda _b: self._guard(self.estimate_motion))
        self.motion_use = W.Checkbox(
            value=False, description="use the correction (preview and volume)", indent=False
        )
        self.motion_use.add_class("daisy-tomo-motion-use")
        self.motion_use.observe(self._changed, names="value")
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
        self.motion_left = W.VBox(
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

    def estimate_motion(self, wait: bool = False) -> threading.Thread:
        """Estimate the motion on rows around the preview row, in the background (progress + Cancel)."""
        from .align import align_projections

        if self.scan is None:
            raise ValueError("open a scan first")
        vals = self.motion_form.coerced
        na, nr, nc = self.scan.shape
        rows = rows_around(self.preview_row.value, nr, int(self.motion_rows.value))
        center = self.center

        def job(progress: Any, cancel: Any) -> Any:
            settings = self.preprocess_settings()
            sino = preprocess_block(self.scan.block(rows), settings)  # (rows, angles, cols)
            proj = sino.transpose(1, 0, 2)

            def inner(done: float, total: float, msg: str = "") -> None:
                from ..core.progress import ProgressEvent, estimate_eta

                el = time.monotonic() - t0
                frac = done / max(total, 1)
                progress(
                    ProgressEvent(
                        "motion", "align", 0, 1, int(done), int(total), frac, el, estimate_eta(frac, el), msg
                    )
                )

            t0 = time.monotonic()
            out, shifts = align_projections(
                proj,
                self.scan.theta_rad,
                center,
                int(vals["iterations"]),
                bool(vals["vertical"]),
                progress=inner,
                cancelled=lambda: cancel.cancelled,
            )
            return rows, sino, np.ascontiguousarray(out.transpose(1, 0, 2)), shifts

        def done(result: Any) -> None:
            rows_, before, after, shifts = result
            self.shifts = shifts
            self.aligned = (rows_, after)
            k = min(max(self.preview_row.value - rows_.start, 0), after.shape[0] - 1)
            self.motion_before.set_image(before[k])
            self.motion_after.set_image(after[k])
            with self.shift_lines.hold_sync():
                self.shift_lines.x = np.asarray(self.scan.theta, float)
                self.shift_lines.y = np.asarray(shifts, float).T
            rms = float(np.sqrt((shifts**2).sum(axis=1).mean()))
            self.info(
                f"Motion estimated on rows {rows_.start}-{rows_.stop - 1}: RMS {rms:.2f} px. "
                "Tick 'use the correction' to apply it."
            )
            self.motion_use.value = True

        t = self.motion_job.run_in_thread(
            job, title="Motion estimate", on_success=self._safe(done), on_error=self.error
        )
        if wait:
            t.join()
        return t

    # ================================================================== 6. preview
    def _build_preview_tab(self) -> None:
        self.algorithm = W.Dropdown(
            options=_ALGORITHMS, value="fbp", description="algorithm", layout=W.Layout(width="330px")
        )
        self.filter = W.Dropdown(
            options=_FILTERS, value="ramp", description="filter", layout=W.Layout(width="220px")
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
        for w in (self.algorithm, self.filter, self.iterations):
            w.observe(self._changed, names="value")
        self.preview_button = W.Button(description="Update now", icon="refresh")
        self.preview_button.on_click(lambda _b: self.update_preview())
        self.auto_preview = W.Checkbox(value=True, description="update after each change", indent=False)
        self.preview_binning = W.Dropdown(
            options=[("auto (≤ 640 px)", 0), ("full resolution", 1), ("binned 2×", 2), ("binned 4×", 4)],
            value=0,
            description="preview",
            tooltip="detector binning of the preview only (faster on wide detectors)",
            layout=W.Layout(width="260px"),
        )
        self.preview_binning.add_class("daisy-tomo-binning")
        self.preview_binning.observe(self._changed, names="value")
        self.preview_left = W.VBox(
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

    def snapshot(self) -> dict[str, Any]:
        """The settings a preview uses, read once (the worker thread never reads the widgets)."""
        w = self.scan.shape[2]
        return {
            "row": int(self.preview_row.value),
            "settings": self.preprocess_settings(),
            "center": float(self.center) if self.center is not None else (w - 1) / 2.0,
            "algorithm": self.algorithm.value,
            "filter": self.filter.value,
            "iterations": int(self.iterations.value),
            "motion": bool(self.motion_use.value),
            "binning": preview_binning(w, int(self.preview_binning.value)),
        }

    def update_preview(self, wait: bool = False, force: bool = False) -> None:
        """Ask for a new preview (debounced, in the background); ``wait`` blocks until it is shown."""
        if self.scan is None or (not force and not wait and not self.auto_preview.value):
            return
        try:
            snap = self.snapshot()
        except Exception as exc:
            self.error(exc)
            return
        self.preview_runner.request(snap)
        if wait:
            self.preview_runner.wait(600)

    def sinogram(
        self,
        row: int,
        settings: PreprocessSettings | None = None,
        token: Any = None,
        motion: bool | None = None,
    ) -> np.ndarray:
        """Preprocessed sinogram (angles, cols) of detector ``row`` (cached; motion-corrected when enabled)."""
        settings = settings or self.preprocess_settings()
        motion = self.motion_use.value if motion is None else motion
        if motion and self.aligned is not None:
            rows, al = self.aligned
            if rows.start <= row < rows.stop:
                return al[row - rows.start]
        key = (row, settings.key())
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        nr = self.scan.shape[1]
        rows = rows_around(row, nr, 16) if settings.needs_rows else slice(row, row + 1)
        sino = preprocess_block(self.scan.block(rows), settings, token)[row - rows.start]
        with self._cache_lock:
            self._cache[key] = sino
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        return sino

    def _preview_job(self, token: Any, snap: dict[str, Any]) -> tuple[dict, np.ndarray, np.ndarray, float]:
        from . import reconstruct

        t0 = time.monotonic()
        sino = self.sinogram(snap["row"], snap["settings"], token, snap["motion"])
        token.raise_if_cancelled()
        # iterative methods report each iteration: a newer request stops this one there
        b = snap.get("binning", 1)
        s_b, c_b = bin_detector(sino, snap["center"], b)
        img = reconstruct(
            s_b,
            self.scan.theta_rad,
            c_b,
            snap["algorithm"],
            snap["filter"],
            iterations=snap["iterations"],
            progress=lambda *_a: token.raise_if_cancelled(),
        )
        if b > 1:
            img = img / np.float32(b)  # attenuation per original pixel
        token.raise_if_cancelled()
        return snap, sino, img, time.monotonic() - t0

    def _show_preview(self, result: tuple) -> None:
        snap, sino, img, seconds = result
        self.preview_image, self.preview_seconds = img, seconds
        self.preview_view.set_image(img)
        binned = f" · binned {snap['binning']}×" if snap.get("binning", 1) > 1 else ""
        self.preview_status.value = (
            f"row {snap['row']} · centre {snap['center']:.2f} px{binned} · {snap['algorithm']}/"
            f"{snap['filter']} · computed in {seconds:.2f} s"
        )
        # before/after sinograms: only when the sinogram changed (not for a new centre, filter or algorithm)
        key = (snap["row"], snap["settings"].key(), snap["motion"], id(sino))
        if key == self._shown_sinogram:
            return
        self._shown_sinogram = key
        self.after_view.set_image(sino)
        try:
            plain = self.sinogram(
                snap["row"], PreprocessSettings(normalize=snap["settings"].normalize), motion=False
            )
            self.before_view.set_image(plain)
        except Exception:
            pass

    def _preview_failed(self, exc: BaseException) -> None:
        self.preview_status.value = "<span style='color:#c00'>preview failed (see the message above)</span>"
        self.error(exc)

    def _preview_state(self, state: str) -> None:
        if state in ("waiting", "running"):
            self.preview_status.value = f"<i>{'updating' if state == 'running' else 'waiting'}…</i>"

    # ================================================================== 7. reconstruct
    def _build_recon(self) -> None:
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
        self.slices.observe(lambda _c: self._show_size(), names="value")
        self.size_info = W.HTML(value="")
        self.recon_algorithm = W.Dropdown(
            options=_ALGORITHMS, value="fbp", description="algorithm", layout=W.Layout(width="330px")
        )
        self.recon_filter = W.Dropdown(
            options=_FILTERS, value="ramp", description="filter", layout=W.Layout(width="220px")
        )
        self.same_as_preview = W.Button(
            description="Same as preview", tooltip="copy algorithm and filter from the preview"
        )
        self.same_as_preview.on_click(lambda _b: self._copy_preview_choice())
        self.engine_choice = W.ToggleButtons(
            options=[("Dask", "dask"), ("in-process", "inprocess")],
            value=self.engine if self.engine in ("dask", "inprocess") else "dask",
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
        self.recon_button.on_click(lambda _b: self._guard(self.reconstruct_volume))
        self.recon_job = JobProgress("Volume reconstruction")
        self.recon_job.add_class("daisy-tomo-recon-job")
        self.recon_tab = W.VBox(
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

    def _copy_preview_choice(self) -> None:
        self.recon_algorithm.value = self.algorithm.value
        self.recon_filter.value = self.filter.value

    def _setup_controls(self) -> None:
        na, nr, nc = self.scan.shape
        self.preview_row.max = nr - 1
        self.preview_row.value = nr // 2
        self.center_slider.max = float(nc - 1)
        self.center_slider.min = 0.0
        self.center_slider.value = (nc - 1) / 2.0
        self.center_value.value = "<i>not estimated yet (the detector middle is used)</i>"
        self.sweep_box.children = []
        self.slices.max = nr - 1
        self.slices.value = (0, nr - 1) if nr <= 64 else (nr // 2 - 16, nr // 2 + 15)
        self.motion_use.value = False
        self._show_size()

    def _show_size(self) -> None:
        if self.scan is None:
            return
        a, b = self.slices.value
        nc = self.scan.shape[2]
        mb = (b - a + 1) * nc * nc * 4 / 2**20
        self.size_info.value = (
            f"<span style='color:#555'>{b - a + 1} slices of {nc}×{nc} px = {mb:.0f} MiB (float32)</span>"
        )

    def reconstruct_volume(self, wait: bool = False) -> threading.Thread:
        """Run the chain on the selected slices as a workflow (Dask by default) in the background."""
        from ..core.datastore import DataStore
        from ..core.engine import run_workflow
        from .pipeline import check_finite

        if self.scan is None:
            raise ValueError("open a scan first")
        if self.recon_job.running:
            raise ValueError("a reconstruction is already running; cancel it first")
        scan = self.scan
        na, nr, nc = scan.shape
        a, b = self.slices.value
        rows = slice(int(a), int(b) + 1)
        check_memory(rows.stop - rows.start, na, nc, self.engine_choice.value)
        settings = self.preprocess_settings()
        center = self.center if self.center is not None else (nc - 1) / 2.0
        opts, extra = recon_options(
            settings,
            center=center,
            algorithm=self.recon_algorithm.value,
            filter=self.recon_filter.value,
            backend=self.backend.value,
            iterations=int(self.iterations.value),
            align=bool(self.motion_use.value),
            align_params=self.motion_form.coerced,
            block=4,
        )
        wf = build_recon_workflow(opts, extra)
        engine = self.engine_choice.value
        params = {
            "algorithm": opts.algorithm,
            "filter": opts.filter,
            "backend": opts.backend,
            "center": float(center),
            "center_method": self.center_method or "detector middle",
            "iterations": opts.iterations,
            "slices": f"{rows.start}:{rows.stop}",
            "engine": engine,
            "motion_correction": opts.align,
            "preprocessing": settings.key(),
            "theta_units": "degrees",
            "software": "daisy_widgets.tomography.app",
        }

        def job(progress: Any, cancel: Any) -> Any:
            check_finite(scan, rows)
            store = DataStore()
            store["raw/projections"] = scan.projections[:, rows, :]
            store["raw/flats"] = scan.flats[:, rows, :]
            store["raw/darks"] = (
                scan.darks[:, rows, :]
                if scan.darks is not None
                else np.zeros((1, rows.stop - rows.start, nc), np.float32)
            )
            store["raw/theta"] = np.asarray(scan.theta, np.float64)
            kw = dict(self.engine_kw) if engine == "dask" else {}
            result = run_workflow(
                wf,
                store,
                engine=engine,
                scheduler=self.scheduler if engine == "dask" else None,
                progress=progress,
                cancel=cancel,
                **kw,
            )
            rec = result.compute("out/recon")  # on Dask: each block straight from its worker
            from ..core.backend import to_numpy

            return np.asarray(to_numpy(rec), np.float32)

        def done(vol: np.ndarray) -> None:
            self.volume, self.volume_params, self.volume_first_slice = vol, params, rows.start
            self.volume_input = scan.path
            self._show_result()
            self.info(
                f"Reconstructed {vol.shape[0]} slices of {vol.shape[1]}×{vol.shape[2]} px "
                f"({engine} engine). See '8 Result' to view and save."
            )
            self.show_stage("8 Result")

        t = self.recon_job.run_in_thread(
            job,
            title=f"Volume: {rows.stop - rows.start} slices on {engine}",
            on_success=self._safe(done),
            on_error=self._recon_failed,
        )
        if wait:
            t.join()
        return t

    def _recon_failed(self, exc: BaseException) -> None:
        self.error(exc)

    # ================================================================== 8. result + save
    def _build_result(self) -> None:
        self.volume_view = VolumeView(size=280)
        self.save_path = W.Text(
            value="",
            description="save as",
            style={"description_width": "initial"},
            layout=W.Layout(width="560px"),
            placeholder="path of the .h5 file or TIFF folder",
        )
        self.save_path.add_class("daisy-tomo-save-path")
        self.save_format = W.ToggleButtons(
            options=[("HDF5 + parameters", "hdf5"), ("TIFF stack", "tiff")],
            value="hdf5",
            style={"button_width": "140px"},
        )
        self.save_format.observe(lambda _c: self._default_save_path(), names="value")
        self.overwrite = W.Checkbox(
            value=False, description="overwrite", indent=False, layout=W.Layout(width="110px")
        )
        self.save_button = W.Button(description="Save", icon="save", button_style="success", disabled=True)
        self.save_button.add_class("daisy-tomo-save")
        self.save_button.on_click(lambda _b: self._guard(self.save))
        self.saved = W.HTML(value="")
        self.saved.add_class("daisy-tomo-saved")
        self.result_tab = W.VBox(
            [
                self.volume_view,
                W.HBox([self.save_path, self.overwrite]),
                W.HBox([self.save_format, self.save_button]),
                self.saved,
            ]
        )

    def _show_result(self) -> None:
        self.volume_view.set_volume(self.volume)
        self.save_button.disabled = False
        self._default_save_path()

    def _default_save_path(self) -> None:
        if self.scan is None:
            return
        stem = Path(self.scan.path).stem
        base = self.results_dir / f"{stem}_recon"
        self.save_path.value = str(base) + (".h5" if self.save_format.value == "hdf5" else "_tiff")

    def save(
        self, path: str | os.PathLike | None = None, fmt: str | None = None, overwrite: bool | None = None
    ) -> str:
        """Save the volume: HDF5 (``/exchange/data`` + parameters) or a TIFF stack folder; returns the path.

        Files are written atomically; an existing file is replaced only with ``overwrite``.
        """
        from .io import write_recon, write_tiff_stack

        if self.volume is None:
            raise ValueError("nothing to save yet: reconstruct a volume first")
        fmt = fmt or self.save_format.value
        target = Path(os.path.expanduser(str(path or self.save_path.value).strip()))
        if not str(target):
            raise ValueError("type a file name to save to")
        overwrite = self.overwrite.value if overwrite is None else overwrite
        for p in (target.parent, *target.parent.parents):
            if p.exists() and not p.is_dir():
                raise NotADirectoryError(20, "a file is in the way where a folder is needed", str(p))
        if fmt == "hdf5":
            if target.suffix.lower() not in (".h5", ".hdf5"):
                target = target.with_suffix(".h5")
            if target.exists() and not overwrite:
                raise FileExistsError(f"{target} exists already; tick 'overwrite' or choose another name")
            target.parent.mkdir(parents=True, exist_ok=True)
            write_recon(
                target,
                self.volume,
                params=self.volume_params,
                input_path=self.volume_input,
                first_slice=self.volume_first_slice,
            )
            out = str(target)
        elif fmt == "tiff":
            if target.exists() and any(target.iterdir()) and not overwrite:
                raise FileExistsError(
                    f"{target} holds files already; tick 'overwrite' or choose another folder"
                )
            files = write_tiff_stack(target, self.volume, prefix="slice", first=self.volume_first_slice)
            out = str(target)
            self.info(f"Saved {len(files)} TIFF slices.")
        else:
            raise ValueError(f"unknown format {fmt!r}: expected 'hdf5' or 'tiff'")
        self.saved_paths.append(out)
        self.saved.value = f"Saved to <code>{html.escape(out)}</code>"
        self.info(f"Saved to {out}")
        return out


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


__all__ = ["TomographyApp", "build_app", "STAGES"]
