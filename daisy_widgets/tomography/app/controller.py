"""The tomography app's controller: what the buttons do, on the model, without widgets.

:class:`TomographyController` opens scans, keeps the live preview (debounced,
in the background, stale requests dropped), finds and sweeps the rotation
centre, and, through :mod:`.jobs`, estimates motion, runs the volume as a
:class:`~daisy_widgets.core.workflow.Workflow` on the engine and saves it.
It reads the chosen parameters from the :class:`~.model.TomographyModel` and
writes the results back there; the stages show them. Every failure becomes a
sentence in the model's message (:meth:`TomographyController.error`).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import ValidationError
from ...widgets.debounce import DebouncedRunner
from .jobs import VolumeJobs
from .logic import (
    PreprocessSettings,
    bin_detector,
    centre_sweep,
    default_data_dir,
    plain_error,
    preprocess_block,
    preview_binning,
    rows_around,
    trial_centres,
)
from .model import PREPROCESS_STEPS, PREVIEW_INPUTS, PreviewResult, TomographyModel, algorithm_class

_CENTRE_LABELS = {
    "auto": "auto: Vo's Fourier metric",
    "vo": "Vo's Fourier metric",
    "com": "centre of mass",
    "entropy": "entropy sweep",
}


class TomographyController(VolumeJobs):
    """The app's work on a :class:`~.model.TomographyModel` (see the module docstring).

    Parameters
    ----------
    model
        The shared model.
    data_dir, results_dir
        Folder of the scans; default folder of saved results.
    scheduler, engine_kw
        Dask scheduler address (None: a local cluster) and extra DaskEngine settings.
    service_url
        The data service (Tiled) listing scans, or None.
    preview_delay
        Debounce time of the live preview, s: a change made after a quiet moment starts at
        once; changes that follow it within this time are merged (the latest wins).
    """

    def __init__(
        self,
        model: TomographyModel,
        *,
        data_dir: str | os.PathLike | None = None,
        results_dir: str | os.PathLike | None = None,
        scheduler: str | None = None,
        engine_kw: dict | None = None,
        service_url: str | None = None,
        preview_delay: float = 0.2,
    ):
        self.model = model
        self.data_dir = Path(data_dir).expanduser().resolve() if data_dir else default_data_dir()
        self.results_dir = (
            Path(results_dir).expanduser()
            if results_dir
            else Path(os.environ.get("DAISY_RESULTS_DIR", Path.home() / "daisy-results"))
        )
        self.scheduler = scheduler
        self.engine_kw = dict(engine_kw or {})
        self.service_url = service_url
        #: ``hook(path, center)`` when a scan followed live completes (the app sets it)
        self.on_live_complete: Callable[[str, float | None], None] | None = None
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.preview_runner = DebouncedRunner(
            self._preview_job,
            delay=preview_delay,
            on_result=self.safe(self._preview_done),
            on_error=self._preview_failed,
            on_state=self._preview_state,
            leading=True,
        )
        model.observe(self._inputs_changed, names=list(PREVIEW_INPUTS))

    # ================================================================== messages and threads
    def info(self, text: str) -> None:
        """Show a neutral message."""
        self.model.say(text)

    def error(self, exc_or_text: BaseException | str) -> None:
        """Show an error in plain words (the app stays usable)."""
        self.model.say(exc_or_text if isinstance(exc_or_text, str) else plain_error(exc_or_text), error=True)

    def guard(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Call ``fn``; a failure is shown as a message and None returned."""
        try:
            return fn(*args, **kw)
        except Exception as exc:
            self.error(exc)
            return None

    def safe(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """Wrap a callback run in a worker thread: a failure is shown on the page, not lost in the thread."""

        def call(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as exc:
                import traceback

                traceback.print_exc()
                self.error(exc)

        return call

    def background(self, name: str, fn: Callable[[], Any], wait: bool = False) -> threading.Thread:
        """Run ``fn`` in a daemon thread (failures shown as messages); ``wait`` joins it."""
        t = threading.Thread(target=self.guard, args=(fn,), name=f"daisy-tomo-{name}", daemon=True)
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()
        if wait:
            t.join()
        return t

    def wait_idle(self, timeout: float = 300.0, others: tuple = ()) -> bool:
        """Wait for the background work (and the threads ``others``); False on timeout."""
        end = time.monotonic() + timeout
        for t in list(self._threads) + [x for x in others if x is not None]:
            t.join(max(0.0, end - time.monotonic()))
        return self.preview_runner.wait(max(0.0, end - time.monotonic())) and not any(
            t.is_alive() for t in self._threads
        )

    def close(self) -> None:
        """Cancel the preview in progress and stop following the model."""
        self.preview_runner.cancel()
        self.model.unobserve(self._inputs_changed, names=list(PREVIEW_INPUTS))

    # ================================================================== 1. open
    def open_scan(self, path: str | os.PathLike, layout: Any = None) -> Any:
        """Open a scan (Data Exchange or NXtomo file, any HDF5/NeXus or TIFF with a layout, or a
        data-service entry ``tomography/<name>``).

        ``layout`` (a :class:`~daisy_widgets.tomography.io.Layout` or its dict) names the parts of
        a file no reader recognises; without it, the layout remembered for the file-name pattern is
        used. A file of unknown layout opens the layout form (``model.layout_form``: its candidates,
        pre-filled) instead. The later stages start again from the scan. A bad file shows an error
        and keeps the scan open before (if any); returns the scan or None.
        """
        from ...store import open_scan
        from ..io import UnknownLayoutError
        from .layout_choice import inspection_for_form, read_with_layout, remembered_layout

        remembered = None
        try:
            remembered = None if layout is not None else remembered_layout(path)
            if layout is not None or remembered is not None:
                scan = read_with_layout(path, layout if layout is not None else remembered)
            else:
                scan = open_scan(path, url=self.service_url)
        except UnknownLayoutError:
            return self.offer_layout(path)
        except Exception as exc:
            self.error(exc)
            if remembered is not None:  # the remembered layout does not fit this file: let the user fix it
                self.model.layout_form = self.guard(inspection_for_form, path, remembered) or {}
            return None
        with self._cache_lock:
            self._cache.clear()
        self.model.layout_form = {}
        self.model.scan_opened(scan)
        na, nr, nc = scan.shape
        self.info(f"Opened {Path(scan.path).name}: {na} projections of {nr}×{nc} pixels.")
        self.update_preview()
        return scan

    def offer_layout(self, path: str | os.PathLike) -> None:
        """Inspect a file no reader recognises and show its candidates in the layout form."""
        from .layout_choice import inspection_for_form

        form = self.guard(inspection_for_form, path)
        if form is None:
            return None
        self.model.layout_form = form
        self.info(
            f"{Path(os.fspath(path)).name} is not Data Exchange or NXtomo: check the datasets picked "
            "below and press 'Open with this layout'."
        )
        return None

    def open_with_layout(self, path: str | os.PathLike, layout: Any, remember: bool = True) -> Any:
        """Open ``path`` with ``layout``; on success remember it for files named like ``path``."""
        from ..io import Layout, LayoutMemory, name_pattern

        lay = Layout.from_dict(layout) if isinstance(layout, dict) else layout
        scan = self.open_scan(path, layout=lay)
        if scan is not None and remember:
            self.guard(LayoutMemory().remember, path, lay)
            self.info(
                f"Opened {Path(scan.path).name} and remembered its layout for {name_pattern(path)} "
                f"({scan.shape[0]} projections)."
            )
        return scan

    def list_service_scans(self) -> list[str]:
        """The tomography scans of the data service, into ``model.service_scans``; [] (and an error) when down."""
        from ...store import connect

        try:
            client = connect(self.service_url, structure_clients="numpy")
            node = client.get("tomography", {})
            options = []
            for name in node:
                meta = dict(node[name].metadata)
                shape = meta.get("shape")
                label = f"{name}  ({' × '.join(str(v) for v in shape)})" if shape else name
                if meta.get("acquisition"):
                    label += f"  · {meta['acquisition']}"  # a scan a detector is still writing
                options.append((label, name))
        except Exception as exc:
            self.error(exc)
            return []
        self.model.service_scans = options
        return [v for _, v in options]

    # ================================================================== 3. preprocessing
    def set_preprocessing(self, **steps: dict[str, Any] | bool | None) -> None:
        """Switch steps on/off and set their parameters, e.g. ``set_preprocessing(stripes={"method": "fw"}, phase=False)``.

        Raises ValidationError naming the bad values (nothing is changed then).
        """
        keys = [k for k, _ in PREPROCESS_STEPS]
        on, values = dict(self.model.steps_on), dict(self.model.step_values)
        for key, value in steps.items():
            if key not in keys:
                raise ValueError(f"unknown preprocessing step {key!r}: expected one of {', '.join(keys)}")
            if value is False or value is None:
                on[key] = key == "normalize"
                continue
            on[key] = True
            if isinstance(value, dict):
                cls = algorithm_class(dict(PREPROCESS_STEPS)[key])
                values[key] = cls.coerce_params({**values[key], **value})
        with self.model.hold_trait_notifications():
            self.model.step_values = values
            self.model.steps_on = on
            self.model.preprocess_problems = {}

    def preprocess_settings(self) -> PreprocessSettings:
        """The enabled steps with their validated values (raises ValidationError naming the bad fields)."""
        return self.model.preprocess_settings()

    # ================================================================== 6. preview
    def _inputs_changed(self, change: dict) -> None:
        if change["name"] in ("steps_on", "step_values"):
            with self._cache_lock:
                self._cache.clear()
            self.model.aligned = None  # the motion estimate was made on other data
        self.update_preview()

    def snapshot(self) -> dict[str, Any]:
        """The settings a preview uses, read once (the worker thread never reads the model again)."""
        m = self.model
        return {
            "row": int(m.preview_row),
            "settings": m.preprocess_settings(),
            "center": m.center_or_middle,
            "algorithm": m.algorithm,
            "filter": m.filter,
            "iterations": int(m.iterations),
            "motion": bool(m.motion_use),
            "binning": preview_binning(m.width, int(m.binning)),
        }

    def update_preview(self, wait: bool = False, force: bool = False) -> None:
        """Ask for a new preview (debounced, in the background); ``wait`` blocks until it is shown."""
        if self.model.scan is None or (not force and not wait and not self.model.auto_preview):
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
        m = self.model
        settings = settings or m.preprocess_settings()
        motion = m.motion_use if motion is None else motion
        aligned = m.aligned
        if motion and aligned is not None:
            rows, al = aligned
            if rows.start <= row < rows.stop:
                return al[row - rows.start]
        key = (row, settings.key())
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        nr = m.scan.shape[1]
        rows = rows_around(row, nr, 16) if settings.needs_rows else slice(row, row + 1)
        sino = preprocess_block(m.scan.block(rows), settings, token)[row - rows.start]
        with self._cache_lock:
            self._cache[key] = sino
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        return sino

    def _preview_job(self, token: Any, snap: dict[str, Any]) -> PreviewResult:
        from .. import reconstruct

        t0 = time.monotonic()
        sino = self.sinogram(snap["row"], snap["settings"], token, snap["motion"])
        token.raise_if_cancelled()
        # iterative methods report each iteration: a newer request stops this one there
        b = snap.get("binning", 1)
        s_b, c_b = bin_detector(sino, snap["center"], b)
        img = reconstruct(
            s_b,
            self.model.scan.theta_rad,
            c_b,
            snap["algorithm"],
            snap["filter"],
            iterations=snap["iterations"],
            progress=lambda *_a: token.raise_if_cancelled(),
        )
        if b > 1:
            img = img / np.float32(b)  # attenuation per original pixel
        token.raise_if_cancelled()
        return PreviewResult(snap, sino, img, time.monotonic() - t0)

    def _preview_done(self, result: PreviewResult) -> None:
        self.model.preview = result

    def _preview_failed(self, exc: BaseException) -> None:
        self.model.preview_state = "failed"
        self.error(exc)

    def _preview_state(self, state: str) -> None:
        self.model.preview_state = state

    # ================================================================== 4. centre
    def set_center(self, value: float, method: str = "manual") -> None:
        """Use ``value`` (detector pixels) as the rotation axis."""
        if self.model.scan is None:
            raise ValueError("open a scan first")
        w = self.model.width
        if not 0 <= float(value) <= w - 1:
            raise ValidationError(
                "centre",
                {"center": [f"expected a rotation axis inside the detector, 0..{w - 1} px; got {value}"]},
            )
        with self.model.hold_trait_notifications():
            self.model.center_method = method
            self.model.center = float(value)

    def find_center_auto(self, method: str = "auto") -> float:
        """Estimate the axis with ``method`` on the preprocessed sinograms of the preview row ± 3 rows."""
        from .. import find_center

        m = self.model
        row, nr = m.preview_row, m.scan.shape[1]
        if method == "entropy":  # the image-quality sweep reconstructs: one row is enough
            sino = self.sinogram(row)
        else:  # averaging a few rows makes the estimate robust to noise and rings
            around = rows_around(row, nr, 3)
            sino = np.stack([self.sinogram(r) for r in range(around.start, around.stop)])
        th = m.scan.theta_rad
        label = _CENTRE_LABELS[method]
        if method == "auto":
            # two independent methods; when they disagree, an image-quality sweep between them decides
            c_vo, c_com = float(find_center(sino, th, "vo")), float(find_center(sino, th, "com"))
            if abs(c_vo - c_com) <= 1.5:
                c = c_vo
                label = f"auto: Vo's Fourier metric, confirmed by centre of mass {c_com:.2f}"
            else:
                lo, hi = min(c_vo, c_com) - 2.0, max(c_vo, c_com) + 2.0
                search = (max(lo, 1.0), min(hi, m.width - 2.0))
                c = float(find_center(self.sinogram(row), th, "entropy", search=search))
                label = (
                    f"auto: Vo {c_vo:.2f} and centre of mass {c_com:.2f} disagree; entropy sweep between them"
                )
        else:
            c = float(find_center(sino, th, method))
        self.set_center(c, label)
        self.info(f"Rotation centre {c:.2f} px ({label}).")
        return c

    def sweep_centres(self, n: int = 7, step: float = 1.0) -> list[dict[str, Any]]:
        """Reconstruct the preview row at ``n`` trial centres ``step`` px apart around the current one.

        Each trial is ``{"center", "image" (thumbnail), "sharpness"}``; they go to ``model.sweep``.
        """
        m = self.model
        sino = self.sinogram(m.preview_row)
        cs = trial_centres(m.center_or_middle, int(n), float(step), m.width)
        trials = centre_sweep(sino, m.scan.theta_rad, cs, filter=m.filter, thumb=140)
        with m.hold_trait_notifications():
            m.sweep_choice = -1
            m.sweep = trials
        if trials:
            best = int(np.argmax([t["sharpness"] for t in trials]))
            self.info(
                f"Sweep of {len(trials)} centres; the sharpest looks like {trials[best]['center']:.2f} px "
                "(highlighted). Click one to use it."
            )
        return trials

    def pick_centre(self, index: int) -> float:
        """Use the centre of sweep trial ``index``."""
        c = self.model.sweep[index]["center"]
        self.set_center(c, "picked from the sweep")
        self.model.sweep_choice = int(index)
        return c


__all__ = ["TomographyController"]
