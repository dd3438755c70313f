"""Previews and plot windows of data objects, by kind (bqplot).

:func:`plot_window` builds the window a double-click in the data toolbox opens:
an image (a 2-D array, or a stack with a slider: :class:`ImageView`), a profile
(1-D array), a spectrum (counts against channel or energy, log scale) or a light
curve (rate or counts against time). :func:`preview` is the small view under the
tree: an image slice, a 1-D plot or the head of a table.

CSS classes: ``daisy-plot-window`` (with ``daisy-plot-<kind>``), ``daisy-plot-figure``,
``daisy-preview`` (with ``daisy-preview-<kind>``).
"""

from __future__ import annotations

import html
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np

from .objects import object_kind

#: longest 1-D series sent to the browser (longer ones are decimated for display)
MAX_POINTS = 20000


def _host(value: Any) -> np.ndarray:
    if hasattr(value, "compute") and not isinstance(value, np.ndarray):
        value = value.compute()
    if hasattr(value, "get") and type(value).__module__.startswith("cupy"):
        value = value.get()
    return np.asarray(value)


def _xy_columns(table: np.ndarray, kind: str) -> tuple[str, str]:
    names = list(table.dtype.names or ())
    lower = {n.lower(): n for n in names}
    if kind == "lightcurve":
        x = lower.get("time", names[0])
        y = next((lower[c] for c in ("rate", "counts", "count", "flux") if c in lower), names[-1])
    else:
        x = next((lower[c] for c in ("energy", "channel", "pi") if c in lower), names[0])
        y = next((lower[c] for c in ("counts", "rate", "flux") if c in lower), names[-1])
    return x, y


def _series(value: Any, kind: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    arr = _host(value)
    if arr.dtype.names:
        xn, yn = _xy_columns(arr, kind)
        x, y = np.asarray(arr[xn], float), np.asarray(arr[yn], float)
    else:
        xn, yn = "index", "value"
        y = arr.astype(float).ravel()
        x = np.arange(y.size, dtype=float)
    if y.size > MAX_POINTS:
        step = int(np.ceil(y.size / MAX_POINTS))
        x, y = x[::step], y[::step]
    return x, y, xn, yn


def line_figure(value: Any, kind: str, title: str = "", height: str = "300px") -> bq.Figure:
    """A bqplot figure of a 1-D array or of two columns of a table (log counts for a spectrum)."""
    x, y, xn, yn = _series(value, kind)
    sx = bq.LinearScale()
    sy = bq.LogScale() if kind == "spectrum" and np.all(y > 0) else bq.LinearScale()
    line = bq.Lines(x=x, y=y, scales={"x": sx, "y": sy}, colors=["#2f6db5"])
    fig = bq.Figure(
        marks=[line],
        axes=[bq.Axis(scale=sx, label=xn), bq.Axis(scale=sy, orientation="vertical", label=yn)],
        title=title,
        layout=W.Layout(width="100%", height=height),
        fig_margin={"top": 30, "bottom": 40, "left": 60, "right": 10},
    )
    fig.add_class("daisy-plot-figure")
    return fig


def table_html(value: Any, rows: int = 8) -> str:
    """The first ``rows`` rows of a table (structured array) as an HTML table."""
    arr = _host(value)
    names = list(arr.dtype.names or ())
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(r[n]))}</td>" for n in names) + "</tr>" for r in arr[:rows]
    )
    more = f"<div style='color:#666'>{len(arr)} rows</div>"
    return f"<table class='daisy-table-head'><tr>{head}</tr>{body}</table>{more}"


def _cell(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, (float, np.floating)) else str(v)


def _image_stack(value: Any) -> Any:
    arr = value
    while getattr(arr, "ndim", 0) > 3:
        arr = arr[0]
    return arr


def plot_window(key: str, value: Any, attrs: dict | None = None) -> W.Widget:
    """The plot window of one object, chosen by its kind (see :func:`.objects.object_kind`)."""
    from ..widgets.image_view import ImageView

    kind = object_kind(value, attrs)
    title = W.HTML(f"<b>{html.escape(key)}</b> <span style='color:#666'>{kind}</span>")
    if kind == "image":
        arr = _image_stack(value)
        view = ImageView(title=key)
        if arr.ndim == 3:
            view.set_stack(frame=lambda i: _host(arr[i]).astype(np.float32), n=int(arr.shape[0]))
        else:
            view.set_image(_host(arr).astype(np.float32))
        body: W.Widget = view
    elif kind in ("profile", "spectrum", "lightcurve"):
        body = line_figure(value, kind, title=key, height="420px")
    elif kind == "table":
        body = W.HTML(table_html(value, rows=50))
    else:
        body = W.HTML(f"<pre>{html.escape(repr(value)[:2000])}</pre>")
    box = W.VBox([title, body], layout=W.Layout(width="100%", padding="6px"))
    box.add_class("daisy-plot-window")
    box.add_class(f"daisy-plot-{kind}")
    return box


def preview(key: str, value: Any, attrs: dict | None = None) -> W.Widget:
    """The small preview under the tree: an image slice (PNG), a 1-D plot, or a table's head."""
    from ..widgets.colormaps import image_png, percentile_window

    kind = object_kind(value, attrs)
    if kind == "image":
        arr = _image_stack(value)
        frame = _host(arr[arr.shape[0] // 2] if arr.ndim == 3 else arr).astype(np.float32)
        lo, hi = percentile_window(frame)
        png = image_png(frame, lo, hi, max_size=256)
        w: W.Widget = W.Image(value=png, format="png", layout=W.Layout(max_width="260px"))
    elif kind in ("profile", "spectrum", "lightcurve"):
        w = line_figure(value, kind, height="180px")
    elif kind == "table":
        w = W.HTML(table_html(value, rows=5))
    else:
        w = W.HTML(f"<pre>{html.escape(repr(_host(value))[:400])}</pre>")
    box = W.VBox([w])
    box.add_class("daisy-preview")
    box.add_class(f"daisy-preview-{kind}")
    return box
