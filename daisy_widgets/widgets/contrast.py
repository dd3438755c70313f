"""Contrast control ("white balance"): a percentile window with the image's histogram.

:class:`ContrastControl` shows the histogram of an image with the display
window marked on it; a range slider picks the window as percentiles of the
finite values (*Auto* resets it to 0.5-99.5 %). Attached :class:`ImageView`\\ s
are re-windowed on every change, and a view attached with ``follow=True``
feeds its shown frame back as the histogram's image. Nothing here knows a technique.

Example::

    contrast = ContrastControl()
    contrast.attach(view, follow=True)
    contrast.set_percentiles(1, 99)

CSS classes: ``daisy-contrast`` (the widget), ``daisy-contrast-slider``,
``daisy-contrast-auto``, ``daisy-contrast-histogram``, ``daisy-contrast-info``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np

from .colormaps import percentile_window


class ContrastControl(W.VBox):
    """Percentile window + histogram for one or more image views.

    Parameters
    ----------
    low, high
        Initial percentiles (0..100).
    bins
        Histogram bins.
    width
        Width in CSS pixels.
    """

    def __init__(self, low: float = 0.5, high: float = 99.5, bins: int = 128, width: int = 300, **kw: Any):
        self.bins = bins
        self.image: np.ndarray | None = None
        self.window: tuple[float, float] = (0.0, 1.0)
        self.views: list[Any] = []
        self._callbacks: list[Callable[[tuple[float, float]], None]] = []
        self.slider = W.FloatRangeSlider(
            value=(low, high),
            min=0.0,
            max=100.0,
            step=0.1,
            description="window %",
            continuous_update=False,
            readout_format=".1f",
            style={"description_width": "initial"},
            layout=W.Layout(width=f"{width}px"),
            tooltip="display window as percentiles of the image's values",
        )
        self.slider.add_class("daisy-contrast-slider")
        self.slider.observe(lambda _ch: self.update(), names="value")
        self.auto_button = W.Button(
            description="Auto",
            layout=W.Layout(width="64px"),
            tooltip="reset the window to the 0.5-99.5 percentiles",
        )
        self.auto_button.add_class("daisy-contrast-auto")
        self.auto_button.on_click(lambda _b: self.set_percentiles(0.5, 99.5))
        self.xs = bq.LinearScale()
        self.ys = bq.LinearScale(min=0.0)
        self.bars = bq.Bars(
            x=np.zeros(1),
            y=np.zeros(1),
            scales={"x": self.xs, "y": self.ys},
            padding=0.0,
            colors=["#5470a0"],
            stroke="#5470a0",
        )
        self.lines = bq.Lines(
            x=np.zeros((2, 2)),
            y=np.array([[0.0, 1.0], [0.0, 1.0]]),
            scales={"x": self.xs, "y": bq.LinearScale(min=0.0, max=1.0)},
            colors=["#d62728"],
        )
        self.figure = bq.Figure(
            marks=[self.bars, self.lines],
            axes=[bq.Axis(scale=self.xs, num_ticks=4, tick_format=".3g")],
            fig_margin={"top": 4, "bottom": 24, "left": 8, "right": 8},
            layout=W.Layout(width=f"{width}px", height="110px"),
        )
        self.figure.add_class("daisy-contrast-histogram")
        self.info = W.HTML(value="")
        self.info.add_class("daisy-contrast-info")
        super().__init__(children=[W.HBox([self.slider, self.auto_button]), self.figure, self.info], **kw)
        self.add_class("daisy-contrast")

    # -- wiring ----------------------------------------------------------------------------
    def attach(self, view: Any, follow: bool = False) -> None:
        """Window ``view`` (anything with ``set_window(lo, hi)``) with this control.

        With ``follow``, the histogram follows the frame ``view`` shows (``view.on_frame``).
        """
        self.views.append(view)
        if follow and hasattr(view, "on_frame"):
            view.on_frame(lambda v: self.set_image(v.image))
            if getattr(view, "image", None) is not None:
                self.set_image(view.image)
                return
        if self.image is not None:
            view.set_window(*self.window)

    def on_change(self, callback: Callable[[tuple[float, float]], None]) -> None:
        self._callbacks.append(callback)

    # -- state -----------------------------------------------------------------------------
    def set_image(self, image: np.ndarray) -> None:
        """Compute the histogram of ``image`` and re-apply the percentile window."""
        a = np.asarray(image, np.float32)
        self.image = a
        self.update()

    def set_percentiles(self, low: float, high: float) -> None:
        if not 0 <= low < high <= 100:
            raise ValueError(f"expected 0 <= low < high <= 100 percentiles; got {low}, {high}")
        self.slider.value = (float(low), float(high))  # triggers update()

    @property
    def percentiles(self) -> tuple[float, float]:
        return tuple(self.slider.value)

    def refresh_view(self) -> None:
        """Send the histogram again (for a view created after it was computed)."""
        self.bars.send_state(["x", "y"])
        self.lines.send_state(["x"])

    def update(self) -> None:
        if self.image is None:
            return
        low, high = self.slider.value
        lo, hi = percentile_window(self.image, low, high)
        self.window = (lo, hi)
        v = self.image[np.isfinite(self.image)]
        if v.size:
            vlo, vhi = percentile_window(self.image, 0.0, 100.0)
            counts, edges = np.histogram(v, bins=self.bins, range=(vlo, vhi))
            with self.bars.hold_sync():
                self.bars.x = 0.5 * (edges[:-1] + edges[1:])
                self.bars.y = np.sqrt(counts.astype(float))  # square root: the tails stay visible
            with self.lines.hold_sync():
                self.lines.x = np.array([[lo, lo], [hi, hi]])
        self.info.value = f"<span style='font-size:12px;color:#555'>window [{lo:.4g}, {hi:.4g}]</span>"
        for view in self.views:
            view.set_window(lo, hi, fixed=True) if _takes_fixed(view) else view.set_window(lo, hi)
        for cb in list(self._callbacks):
            cb(self.window)


def _takes_fixed(view: Any) -> bool:
    import inspect

    try:
        return "fixed" in inspect.signature(view.set_window).parameters
    except (TypeError, ValueError):
        return False
