"""Live mode of the Open stage: follow a scan while it is acquired, preview a slice that sharpens.

:class:`LivePanel` follows the file picked in the browser (a Data Exchange file a detector
writes in SWMR mode; the browser lists it as "acquiring") with a
:class:`~daisy_widgets.tomography.live.LiveReconstruction` on a thread, and shows the
frames received, the rate, the lag, the angular range, the centre estimate, the preview
slice and the sinogram of its row as they update. With "reconstruct when complete" on,
the finished scan is opened in the app and its volume reconstructed (the controller's
``on_live_complete`` hook, set by the app).

CSS classes for browser tests: ``daisy-tomo-live``, ``daisy-tomo-live-follow``,
``daisy-tomo-live-stop``, ``daisy-tomo-live-auto``, ``daisy-tomo-live-status``,
``daisy-tomo-live-preview`` (an ``<img>``, one image pixel per slice pixel),
``daisy-tomo-live-sinogram``.
"""

from __future__ import annotations

import html
import io
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import numpy as np

#: seconds between two redraws of the preview (the status line is cheap and follows every update)
REDRAW_INTERVAL = 0.3


def png_bytes(img: np.ndarray, lo: float | None = None, hi: float | None = None) -> bytes:
    """An 8-bit grey PNG of ``img`` (2-D), contrast from the 1st to the 99.5th percentile."""
    from PIL import Image

    a = np.asarray(img, np.float32)
    if lo is None or hi is None:
        lo, hi = (float(v) for v in np.percentile(a, [1, 99.5]))
    scaled = np.clip((a - lo) / max(hi - lo, 1e-12), 0, 1)
    buf = io.BytesIO()
    Image.fromarray((scaled * 255).astype(np.uint8), "L").save(buf, format="PNG")
    return buf.getvalue()


def status_html(st: Any) -> str:
    """The live numbers as HTML (frames, rate, lag, arc, centre, state, message)."""
    exp = f" / {st.expected}" if st.expected else ""
    lag = f"{st.lag:.2f} s" if st.lag is not None else "–"
    if st.center is None:
        centre = "–"
    else:
        how = "estimated" if st.center_found else "detector middle, until 180° are in"
        centre = f"{st.center:.2f} px ({how})"
    color = {"failed": "#c00", "stalled": "#c60", "complete": "#070"}.get(st.state, "#333")
    rows = [
        ("state", f"<b style='color:{color}'>{html.escape(st.state)}</b>"),
        ("frames received", f"{st.frames}{exp} projections · {st.flats} flats · {st.darks} darks"),
        ("rate", f"{st.rate:.1f} frames/s"),
        ("preview lag", lag),
        ("angles", f"{st.arc:.1f}°"),
        ("centre", centre),
    ]
    cells = "".join(
        f"<tr><td style='padding-right:12px;color:#555'>{k}</td><td>{v}</td></tr>" for k, v in rows
    )
    msg = f"<div style='color:#555;font-size:12px'>{html.escape(st.message)}</div>" if st.message else ""
    return f"<table style='font-size:13px'>{cells}</table>{msg}"


class LivePanel(W.VBox):
    """Follow a growing scan and show its live reconstruction.

    Parameters
    ----------
    controller
        The app's controller (messages; ``on_live_complete(path, center)`` when the scan completes).
    selected_path
        ``selected_path()`` -> the file picked in the browser, or None.
    """

    def __init__(self, controller: Any, selected_path: Callable[[], str | None], **kw: Any):
        self.controller = controller
        self.selected_path = selected_path
        self.live: Any = None
        self.path: str | None = None
        self._last_draw = 0.0
        self._reported = False
        self._lock = threading.Lock()
        self.follow_button = W.Button(description="Follow live", icon="play", layout=W.Layout(width="130px"))
        self.follow_button.add_class("daisy-tomo-live-follow")
        self.follow_button.on_click(lambda _b: controller.guard(self.follow))
        self.stop_button = W.Button(
            description="Stop", icon="stop", disabled=True, layout=W.Layout(width="90px")
        )
        self.stop_button.add_class("daisy-tomo-live-stop")
        self.stop_button.on_click(lambda _b: self.stop())
        self.auto = W.Checkbox(value=True, description="reconstruct when complete", indent=False)
        self.auto.add_class("daisy-tomo-live-auto")
        self.status = W.HTML(
            "<i>Pick a file being acquired (listed as 'acquiring') and press Follow live.</i>"
        )
        self.status.add_class("daisy-tomo-live-status")
        self.preview = W.Image(format="png", layout=W.Layout(width="220px", height="220px"))
        self.preview.add_class("daisy-tomo-live-preview")
        self.sinogram = W.Image(format="png", layout=W.Layout(width="220px", height="140px"))
        self.sinogram.add_class("daisy-tomo-live-sinogram")
        images = W.HBox(
            [
                W.VBox([W.HTML("<b>Preview slice</b>"), self.preview]),
                W.VBox([W.HTML("<b>Sinogram</b>"), self.sinogram], layout=W.Layout(margin="0 0 0 8px")),
            ]
        )
        super().__init__(
            children=[
                W.HTML("<b>Live</b> <span style='color:#555'>(a scan still being written)</span>"),
                W.HBox([self.follow_button, self.stop_button, self.auto]),
                self.status,
                images,
            ],
            **kw,
        )
        self.add_class("daisy-tomo-live")

    # ------------------------------------------------------------------ actions
    def follow(self, path: str | None = None, stall_timeout: float = 20.0) -> Any:
        """Start following ``path`` (default: the browser's selection); returns the LiveReconstruction."""
        from ..live import LiveReconstruction, SwmrFileSource

        path = path or self.selected_path()
        if not path:
            raise ValueError("pick a file in the browser first (a scan being acquired)")
        self.stop()
        source = SwmrFileSource(path, stall_timeout=stall_timeout, wait=stall_timeout)
        self.path = str(path)
        self._reported = False
        self.live = LiveReconstruction(source, on_update=self._update)
        self.follow_button.disabled, self.stop_button.disabled = True, False
        self.controller.info(f"Following {source.path} live.")
        self.live.start()
        return self.live

    def stop(self) -> None:
        """Stop following (the frames received stay shown)."""
        if self.live is not None:
            self.live.cancel()
            self.live.join(10)
        self.follow_button.disabled, self.stop_button.disabled = False, True

    def close(self) -> None:
        self.stop()
        super().close()

    # ------------------------------------------------------------------ updates (follower thread)
    def _update(self, st: Any) -> None:
        self.status.value = status_html(st)
        final = st.state in ("complete", "stopped", "stalled", "failed")
        now = time.monotonic()
        if st.preview is not None and (final or now - self._last_draw >= REDRAW_INTERVAL):
            self._last_draw = now
            with self._lock:
                self.preview.value = png_bytes(st.preview)
                if st.sinogram is not None:
                    self.sinogram.value = png_bytes(st.sinogram)
        if final and not self._reported:
            self._reported = True  # the end is reported once (a last redraw may follow)
            self.follow_button.disabled, self.stop_button.disabled = False, True
            if st.state == "failed":
                self.controller.error(f"Live: {st.message}")
            elif st.state == "stalled":
                self.controller.error(f"Live: {self.path}: {st.message}")
            elif st.state == "complete":
                self.controller.info(f"Live: {st.message}.")
                hook = getattr(self.controller, "on_live_complete", None)
                if self.auto.value and hook is not None:
                    center = st.center if st.center_found else None
                    threading.Thread(
                        target=self.controller.safe(hook), args=(self.path, center), daemon=True
                    ).start()
