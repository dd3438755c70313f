"""An image viewer on bqplot: zoom and pan, a slider over a stack, a colour scale.

:class:`ImageView` shows one 2-D float array at a time, windowed to a display
range and coloured with a colour map (sent to the browser as one PNG, so a
2048 x 2048 frame is one small message). A stack — a 3-D array, or a function
``frame(i)`` with a count, so that frames of a lazy (dask/HDF5) stack are read
only when shown — gets a slider. Zoom with the mouse wheel, pan by dragging;
*Reset* restores the full view. Nothing here knows a technique.

Example::

    view = ImageView(title="projections", stack=projections, labels=("column", "row"))
    view.set_window(0.0, 1.2)
    display(view)

CSS classes: ``daisy-image-view`` (the widget), ``daisy-image-figure`` (the
bqplot figure), ``daisy-image-slider``, ``daisy-image-cmap``, ``daisy-image-reset``,
``daisy-image-info``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np

from .colormaps import COLORMAPS, image_png, percentile_window


class ImageView(W.VBox):
    """Zoomable, pannable view of an image or of a stack of images.

    Parameters
    ----------
    title
        Shown above the image.
    stack
        2-D (rows, cols) or 3-D (frames, rows, cols) array (numpy, or anything
        indexable such as a dask array).
    width, height
        Figure size in CSS pixels.
    labels
        Axis labels (horizontal, vertical).
    slider_label
        Label of the frame slider (e.g. ``"angle"``).
    frame_names
        Optional text per frame shown next to the slider (e.g. ``"12.5°"``).
    cmap
        Initial colour map (one of :data:`~daisy_widgets.widgets.colormaps.COLORMAPS`).
    max_size
        Images larger than this (either side) are strided down for display.
    """

    def __init__(
        self,
        title: str = "",
        stack: Any = None,
        *,
        width: int = 400,
        height: int = 360,
        labels: tuple[str, str] = ("x", "y"),
        slider_label: str = "frame",
        frame_names: Sequence[str] | None = None,
        cmap: str = "gray",
        max_size: int = 1024,
        show_cmap: bool = True,
        **kw: Any,
    ):
        self.max_size = max_size
        self._size = (width, height)
        self._frame_fn: Callable[[int], np.ndarray] | None = None
        self._n = 0
        self.frame_names = list(frame_names) if frame_names is not None else None
        self.image: np.ndarray | None = None  # the 2-D float frame shown
        self.window: tuple[float, float] | None = None
        self._fixed_window = False
        self._callbacks: list[Callable[[ImageView], None]] = []
        self.title = W.HTML(value=f"<b>{html.escape(title)}</b>" if title else "")
        self.xs = bq.LinearScale(min=0.0, max=1.0)
        self.ys = bq.LinearScale(min=0.0, max=1.0, reverse=True)  # row 0 at the top
        self.mark = bq.Image(
            image=W.Image(value=b"", format="png"),
            scales={"x": self.xs, "y": self.ys},
            x=[0.0, 1.0],
            y=[1.0, 0.0],
        )
        ax = bq.Axis(scale=self.xs, label=labels[0], num_ticks=5, tick_format="d")
        ay = bq.Axis(scale=self.ys, label=labels[1], side="left", num_ticks=5, tick_format="d")
        self.panzoom = bq.interacts.PanZoom(scales={"x": [self.xs], "y": [self.ys]})
        self.figure = bq.Figure(
            marks=[self.mark],
            axes=[ax, ay],
            interaction=self.panzoom,
            fig_margin={"top": 8, "bottom": 36, "left": 48, "right": 8},
            padding_x=0,
            padding_y=0,
            layout=W.Layout(width=f"{width}px", height=f"{height}px"),
        )
        self.figure.add_class("daisy-image-figure")
        self.slider = W.IntSlider(
            value=0,
            min=0,
            max=0,
            description=slider_label,
            continuous_update=True,
            layout=W.Layout(width=f"{max(200, width - 120)}px"),
        )
        self.slider.add_class("daisy-image-slider")
        self.slider.observe(lambda ch: self.show(ch["new"]), names="value")
        self.frame_label = W.Label(value="")
        self.cmap = W.Dropdown(
            options=list(COLORMAPS), value=cmap, layout=W.Layout(width="100px"), tooltip="colour map"
        )
        self.cmap.add_class("daisy-image-cmap")
        self.cmap.observe(lambda _ch: self._render(), names="value")
        self.reset_button = W.Button(
            description="Reset",
            icon="expand",
            layout=W.Layout(width="80px"),
            tooltip="show the whole image (wheel: zoom, drag: pan)",
        )
        self.reset_button.add_class("daisy-image-reset")
        self.reset_button.on_click(lambda _b: self.reset_zoom())
        self.info = W.HTML(value="")
        self.info.add_class("daisy-image-info")
        self.slider_row = W.HBox([self.slider, self.frame_label], layout=W.Layout(display="none"))
        tools = [self.reset_button] + ([self.cmap] if show_cmap else []) + [self.info]
        super().__init__(
            children=[self.title, self.figure, self.slider_row, W.HBox(tools)],
            layout=kw.pop("layout", W.Layout(width=f"{width + 8}px")),
            **kw,
        )
        self.add_class("daisy-image-view")
        if stack is not None:
            self.set_stack(stack)

    # -- data ------------------------------------------------------------------------------
    def set_stack(
        self,
        stack: Any = None,
        *,
        frame: Callable[[int], np.ndarray] | None = None,
        n: int | None = None,
        index: int | None = None,
        frame_names: Sequence[str] | None = None,
    ) -> None:
        """Show a 2-D image, a 3-D stack, or ``frame(i)`` for ``i < n`` (read lazily)."""
        if frame_names is not None:
            self.frame_names = list(frame_names)
        if frame is not None:
            self._frame_fn, self._n = frame, int(n or 1)
        else:
            arr = stack
            if getattr(arr, "ndim", 0) == 2:
                arr2 = np.asarray(arr)
                self._frame_fn, self._n = (lambda _i: arr2), 1
            elif getattr(arr, "ndim", 0) == 3:
                self._frame_fn, self._n = (lambda i: arr[i]), int(arr.shape[0])
            else:
                raise ValueError(
                    f"expected a 2-D image or a 3-D stack; got {getattr(arr, 'shape', type(arr))}"
                )
        self.slider_row.layout.display = "flex" if self._n > 1 else "none"
        self.slider.max = max(self._n - 1, 0)
        i = self.slider.value if index is None else int(index)
        i = min(max(i, 0), max(self._n - 1, 0))
        if self.slider.value != i:
            self.slider.value = i  # triggers show()
        else:
            self.show(i)

    def set_image(self, image: np.ndarray) -> None:
        """Show one 2-D image (no slider)."""
        self.set_stack(np.asarray(image))

    @property
    def n_frames(self) -> int:
        return self._n

    @property
    def index(self) -> int:
        return int(self.slider.value)

    def show(self, index: int) -> None:
        """Show frame ``index`` of the stack."""
        if self._frame_fn is None:
            return
        img = self._frame_fn(int(index))
        img = np.asarray(img.compute() if hasattr(img, "compute") else img, dtype=np.float32)
        if img.ndim != 2:
            raise ValueError(f"frame {index}: expected a 2-D image; got shape {img.shape}")
        new_shape = self.image is None or self.image.shape != img.shape
        self.image = img
        if not self._fixed_window or self.window is None:
            self.window = percentile_window(img)
        if self.frame_names is not None and 0 <= index < len(self.frame_names):
            self.frame_label.value = self.frame_names[index]
        else:
            self.frame_label.value = f"{index + 1}/{self._n}" if self._n > 1 else ""
        if new_shape:
            self._set_extent(img.shape)
        self._render()
        for cb in list(self._callbacks):
            cb(self)

    def on_frame(self, callback: Callable[[ImageView], None]) -> None:
        """Call ``callback(view)`` each time a new frame is shown (e.g. to update a histogram)."""
        self._callbacks.append(callback)

    # -- display ---------------------------------------------------------------------------
    def set_window(self, lo: float, hi: float, fixed: bool = True) -> None:
        """Display range [lo, hi] (kept for the next frames when ``fixed``)."""
        if not hi > lo:
            raise ValueError(f"expected a display window with high > low; got [{lo}, {hi}]")
        self.window = (float(lo), float(hi))
        self._fixed_window = fixed
        self._render()

    def auto_window(self, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
        """Set the window to percentiles of the shown frame; returns it."""
        if self.image is None:
            return (0.0, 1.0)
        self.set_window(*percentile_window(self.image, low, high), fixed=False)
        return self.window

    def _set_extent(self, shape: tuple[int, int]) -> None:
        h, w = shape
        with self.mark.hold_sync():
            self.mark.x = [-0.5, w - 0.5]
            self.mark.y = [h - 0.5, -0.5]  # with the reversed y scale: row 0 at the top
        aspect = w / h if h else 1.0
        if 0.4 <= aspect <= 2.5:  # square pixels
            self.figure.min_aspect_ratio = self.figure.max_aspect_ratio = aspect
        else:  # a very thin image (few rows or slices) is stretched to stay readable
            self.figure.min_aspect_ratio, self.figure.max_aspect_ratio = 0.01, 100.0
        # a wide image gets a lower figure (no empty band below it)
        plot_w = self._size[0] - 56
        self.figure.layout.height = f"{int(min(self._size[1], max(140, plot_w / min(aspect, 2.5) + 44)))}px"
        self.reset_zoom()

    def reset_zoom(self) -> None:
        """Show the whole image."""
        if self.image is None:
            return
        h, w = self.image.shape
        with self.xs.hold_sync(), self.ys.hold_sync():
            self.xs.min, self.xs.max = -0.5, w - 0.5
            self.ys.min, self.ys.max = -0.5, h - 0.5

    def refresh_view(self) -> None:
        """Send the scales' range, the image's extent and the picture to the browser again.

        For views created after the state was set from a worker thread (a tab shown
        for the first time): they then draw what the Python side holds.
        """
        if self.image is None:
            return
        self.xs.send_state(["min", "max"])
        self.ys.send_state(["min", "max"])
        self.mark.send_state(["x", "y"])
        self.mark.image.send_state(["value"])
        self.figure.send_state(["min_aspect_ratio", "max_aspect_ratio"])

    def _render(self) -> None:
        if self.image is None or self.window is None:
            return
        lo, hi = self.window
        self.png = image_png(self.image, lo, hi, self.cmap.value, self.max_size)
        self.mark.image.value = self.png
        h, w = self.image.shape
        self.info.value = (
            f"<span style='color:#555;font-size:12px'>{w}×{h} · window [{lo:.4g}, {hi:.4g}]</span>"
        )
