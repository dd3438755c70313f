"""A 3-D volume viewer: three orthogonal slices with one contrast control, and a 3-D rendering.

:class:`VolumeView` shows a (z, y, x) volume as three :class:`ImageView`\\ s
(axial z, coronal y, sagittal x, each with its own slider), windowed together
by a :class:`ContrastControl`, and as an ipyvolume volume rendering of a copy
block-averaged down to at most ``max_shape`` voxels a side, so that the
browser receives a few MB whatever the volume's size. ipyvolume's control
panel needs ipyvue 2 (it breaks with ipyvue 3), so the bare figure is shown;
rotate by dragging, zoom with the wheel. Nothing here knows a technique.

Example::

    view = VolumeView()
    view.set_volume(volume)        # numpy (z, y, x)
    display(view)

CSS classes: ``daisy-volume-view``, ``daisy-volume-axial``/``-coronal``/``-sagittal``
(the slice views), ``daisy-volume-3d`` (the ipyvolume figure's box), ``daisy-volume-info``.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
import numpy as np

from .colormaps import percentile_window
from .contrast import ContrastControl
from .image_view import ImageView


def downsample(volume: np.ndarray, max_shape: int = 128) -> np.ndarray:
    """Block-average ``volume`` by an integer factor so that no side exceeds ``max_shape``."""
    v = np.asarray(volume, np.float32)
    f = int(np.ceil(max(v.shape) / max_shape))
    if f <= 1:
        return v
    shp = [max(1, (n // f)) * f if n >= f else n for n in v.shape]
    v = v[: shp[0], : shp[1], : shp[2]]
    fz, fy, fx = (f if n >= f else 1 for n in v.shape)
    return v.reshape(v.shape[0] // fz, fz, v.shape[1] // fy, fy, v.shape[2] // fx, fx).mean(axis=(1, 3, 5))


class VolumeView(W.VBox):
    """Orthogonal slices + 3-D rendering of a (z, y, x) volume.

    Parameters
    ----------
    size
        Side of each slice view in CSS pixels.
    max_shape
        Largest side of the volume sent to the 3-D rendering (voxels).
    render_3d
        Build the ipyvolume figure (switch off for scripts that only need the slices).
    labels
        Names of the (z, y, x) axes.
    """

    def __init__(
        self,
        size: int = 290,
        max_shape: int = 128,
        render_3d: bool = True,
        labels: tuple[str, str, str] = ("z", "y", "x"),
        **kw: Any,
    ):
        self.max_shape = max_shape
        self.size = size
        self.volume: np.ndarray | None = None
        self.small: np.ndarray | None = None
        z, y, x = labels
        self.axial = ImageView(
            f"{z} slice ({x}-{y} plane)",
            width=size,
            height=size,
            labels=(x, y),
            slider_label=z,
            show_cmap=False,
        )
        self.coronal = ImageView(
            f"{y} slice ({x}-{z} plane)",
            width=size,
            height=size,
            labels=(x, z),
            slider_label=y,
            show_cmap=False,
        )
        self.sagittal = ImageView(
            f"{x} slice ({y}-{z} plane)",
            width=size,
            height=size,
            labels=(y, z),
            slider_label=x,
            show_cmap=False,
        )
        for v, name in ((self.axial, "axial"), (self.coronal, "coronal"), (self.sagittal, "sagittal")):
            v.add_class(f"daisy-volume-{name}")
        self.contrast = ContrastControl(width=260)
        for v in (self.axial, self.coronal, self.sagittal):
            self.contrast.attach(v)
        self.contrast.on_change(self._update_3d_window)
        self.render_3d = render_3d
        self.figure3d: Any = None
        self.volume_mark: Any = None
        self.box3d = W.Box(layout=W.Layout(width=f"{size + 10}px", min_height=f"{size}px"))
        self.box3d.add_class("daisy-volume-3d")
        self.info = W.HTML(value="<i>no volume yet</i>")
        self.info.add_class("daisy-volume-info")
        top = W.HBox(
            [self.axial, self.coronal, self.sagittal, self.box3d], layout=W.Layout(flex_flow="row wrap")
        )
        super().__init__(children=[top, W.HBox([self.contrast, self.info])], **kw)
        self.add_class("daisy-volume-view")

    def set_volume(self, volume: np.ndarray) -> None:
        """Show a (z, y, x) volume (numpy, float)."""
        v = np.asarray(volume, np.float32)
        if v.ndim == 2:
            v = v[None]
        if v.ndim != 3 or 0 in v.shape:
            raise ValueError(f"expected a non-empty 3-D volume (z, y, x); got shape {v.shape}")
        self.volume = v
        nz, ny, nx = v.shape
        self.axial.set_stack(v, index=nz // 2)
        self.coronal.set_stack(frame=lambda i: v[:, i, :], n=ny, index=ny // 2)
        self.sagittal.set_stack(frame=lambda i: v[:, :, i], n=nx, index=nx // 2)
        self.contrast.set_image(v[nz // 2])
        self.small = downsample(v, self.max_shape)
        self.info.value = (
            f"<span style='font-size:12px'>volume {nz}×{ny}×{nx} (z×y×x) · 3-D view "
            f"{'×'.join(map(str, self.small.shape))} voxels</span>"
        )
        if self.render_3d:
            self._render_3d()

    def _render_3d(self) -> None:
        import ipyvolume as ipv

        lo, hi = self.contrast.window if self.volume is not None else percentile_window(self.small)
        if self.figure3d is None:
            self.figure3d = ipv.Figure(width=self.size, height=self.size)
            self.box3d.children = [self.figure3d]
        fig = self.figure3d
        ipv.pylab.current.figure = fig
        fig.volumes = []
        data = np.clip((self.small - lo) / (hi - lo), 0, 1).astype(np.float32)
        self.volume_mark = ipv.volshow(
            data,
            controls=False,
            data_min=0.0,
            data_max=1.0,
            level=[0.25, 0.55, 0.85],
            opacity=[0.02, 0.08, 0.2],
            level_width=0.1,
        )
        nz, ny, nx = data.shape
        fig.xlim, fig.ylim, fig.zlim = (0, nx), (0, ny), (0, nz)

    def _update_3d_window(self, window: tuple[float, float]) -> None:
        if self.render_3d and self.volume_mark is not None and self.small is not None:
            lo, hi = window
            self.volume_mark.data = np.clip((self.small - lo) / (hi - lo), 0, 1).astype(np.float32)

    def describe(self) -> str:
        return html.unescape(self.info.value)
