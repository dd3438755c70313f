"""PNG export of bqplot figures and download links for files (no technique knowledge).

* :func:`figure_to_png` draws a bqplot ``Figure`` (its Lines, Scatter, Bars and
  Hist marks, axis labels, title and the current scale ranges) with matplotlib,
  so a PNG can be written from Python without a browser.
* :class:`PlotExport` is a "PNG" button for one figure: in a browser it asks
  the front end to download the figure exactly as displayed (``Figure.save_png``)
  and it also writes ``<directory>/<filename>`` with :func:`figure_to_png`
  (atomically), offering a download link to it.
* :func:`file_link` gives an ``<a>`` for a file: through the Jupyter server's
  ``/files/`` route when the file lies under the server's root folder (``root``
  and ``base_url`` known), else an inline ``data:`` URL for files up to
  ``max_inline_bytes``, else the plain path.

CSS classes: ``daisy-png-export`` (button), ``daisy-file-links`` (the list),
``daisy-file-link`` (each link).
"""

from __future__ import annotations

import base64
import html
import io
import mimetypes
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import ipywidgets as W
import numpy as np

from ..core.atomic import atomic_write_bytes

MAX_INLINE_BYTES = 24 * 1024 * 1024


def _arr(x: Any) -> np.ndarray:
    return np.asarray(x if x is not None else [], dtype=float)


def _mpl_color(colors: Sequence[str] | None, i: int, default: str = "C0") -> str:
    if colors:
        c = list(colors)[i % len(colors)]
        return c if c else default
    return default


def figure_to_png(
    fig: Any, path: str | os.PathLike | None = None, *, dpi: int = 100, size: tuple[float, float] = (6.4, 4.0)
) -> bytes:
    """Render a bqplot figure to PNG bytes with matplotlib (Agg); also write ``path`` when given.

    Draws the marks' data as plotted (Lines with their colours and fill, Scatter,
    Bars, Hist), the axis labels, log scales, the current x/y ranges of the
    scales (a zoomed view exports zoomed) and the title.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    mfig = MplFigure(figsize=size, dpi=dpi)
    FigureCanvasAgg(mfig)
    ax = mfig.add_subplot(111)
    xs = ys = None
    for mark in getattr(fig, "marks", []):
        kind = type(mark).__name__
        if not getattr(mark, "visible", True):
            continue
        xs = xs or mark.scales.get("x")
        ys = ys or mark.scales.get("y")
        label = (list(mark.labels) or [None])[0] if getattr(mark, "labels", None) else None
        colors = list(getattr(mark, "colors", []) or [])
        if kind == "Lines":
            x, y = _arr(mark.x), _arr(mark.y)
            if y.ndim == 1:
                y = y[None, :]
            if x.ndim == 1:
                x = np.broadcast_to(x, y.shape)
            fill = getattr(mark, "fill", "none")
            for i in range(y.shape[0]):
                c = _mpl_color(colors, i)
                if fill == "between" and y.shape[0] == 2 and i == 0:
                    ax.fill_between(
                        x[0],
                        y[0],
                        y[1],
                        color=c,
                        alpha=getattr(mark, "fill_opacities", [0.3])[0]
                        if getattr(mark, "fill_opacities", None)
                        else 0.3,
                        linewidth=0,
                    )
                    break
                if fill == "bottom":
                    op = list(getattr(mark, "fill_opacities", None) or [0.3])[0]
                    ax.fill_between(x[i], y[i], 0, color=c, alpha=op, linewidth=0, label=label)
                    continue
                ls = "--" if getattr(mark, "line_style", "solid") == "dashed" else "-"
                mk = "o" if getattr(mark, "marker", None) else None
                if getattr(mark, "interpolation", "linear") == "step-after":
                    ax.step(x[i], y[i], where="post", color=c, linestyle=ls, label=label)
                else:
                    ax.plot(x[i], y[i], color=c, linestyle=ls, marker=mk, markersize=3, label=label)
        elif kind == "Scatter":
            ax.scatter(_arr(mark.x), _arr(mark.y), s=8, color=_mpl_color(colors, 0), label=label)
        elif kind == "Bars":
            x, y = _arr(mark.x), _arr(mark.y)
            if y.ndim == 1 and x.size:
                w = np.diff(x).min() if x.size > 1 else 1.0
                ax.bar(x, y, width=w, color=_mpl_color(colors, 0), label=label)
        elif kind == "Hist":
            ax.hist(_arr(mark.sample), bins=int(getattr(mark, "bins", 10)), color=_mpl_color(colors, 0))
    for axis in getattr(fig, "axes", []):
        lab = getattr(axis, "label", "")
        if getattr(axis, "side", None) in ("left", "right") or getattr(axis, "orientation", "") == "vertical":
            ax.set_ylabel(lab)
        else:
            ax.set_xlabel(lab)
    for sc, setlim, setscale in ((xs, ax.set_xlim, ax.set_xscale), (ys, ax.set_ylim, ax.set_yscale)):
        if sc is None:
            continue
        if type(sc).__name__ == "LogScale":
            setscale("log")
        lo, hi = getattr(sc, "min", None), getattr(sc, "max", None)
        if lo is not None and hi is not None and hi > lo:
            setlim(lo, hi)
    if getattr(fig, "title", ""):
        ax.set_title(fig.title)
    if any(
        getattr(m, "labels", None) and getattr(m, "display_legend", False) for m in getattr(fig, "marks", [])
    ):
        ax.legend(fontsize="small")
    mfig.tight_layout()
    buf = io.BytesIO()
    mfig.savefig(buf, format="png")
    data = buf.getvalue()
    if path is not None:
        atomic_write_bytes(Path(path), data)
    return data


def file_link(
    path: str | os.PathLike,
    *,
    text: str | None = None,
    base_url: str | None = None,
    root: str | os.PathLike | None = None,
    max_inline_bytes: int = MAX_INLINE_BYTES,
) -> str:
    """HTML ``<a>`` that downloads ``path`` (see the module docstring for the order of choices)."""
    p = Path(path)
    name = text or p.name
    size = p.stat().st_size if p.exists() else 0
    label = f"{html.escape(name)} <span style='color:#777'>({_size(size)})</span>"
    if base_url is not None and root is not None:
        try:
            rel = p.resolve().relative_to(Path(root).resolve())
        except ValueError:
            rel = None
        if rel is not None:
            href = base_url.rstrip("/") + "/files/" + quote(rel.as_posix())
            return (
                f"<a class='daisy-file-link' href='{html.escape(href)}' download='{html.escape(p.name)}' "
                f"target='_blank'>{label}</a>"
            )
    if p.exists() and size <= max_inline_bytes:
        mime = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
        b64 = base64.b64encode(p.read_bytes()).decode("ascii")
        return (
            f"<a class='daisy-file-link' href='data:{mime};base64,{b64}' download='{html.escape(p.name)}'>"
            f"{label}</a>"
        )
    return f"<span class='daisy-file-link' title='too large to download from the page'>{label} {html.escape(str(p))}</span>"


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def server_files_location() -> tuple[str | None, str | None]:
    """``(base_url, root)`` of the Jupyter server's ``/files/`` route, from the environment.

    The base URL is ``DAISY_BASE_URL``, else ``JUPYTERHUB_SERVICE_PREFIX`` (under a hub,
    e.g. ``/user/alice/``); the root folder is ``DAISY_SERVER_ROOT``, else, under a hub,
    the home folder (the spawners start user servers there). (None, None) when unknown:
    links are then inline ``data:`` URLs.
    """
    base = os.environ.get("DAISY_BASE_URL") or os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    root = os.environ.get("DAISY_SERVER_ROOT")
    if not root and os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
        root = os.path.expanduser("~")
    if root and base:
        return base, root
    return None, None


class FileLinks(W.HTML):
    """A list of download links for files (``daisy-file-links``)."""

    def __init__(self, files: Sequence[str | os.PathLike] = (), **kw: Any):
        super().__init__(**kw)
        self.add_class("daisy-file-links")
        self.files: list[Path] = []
        self.set_files(files)

    def set_files(self, files: Sequence[str | os.PathLike]) -> None:
        self.files = [Path(f) for f in files]
        if not self.files:
            self.value = "<i>no files yet</i>"
            return
        base, root = server_files_location()
        items = "".join(f"<li>{file_link(f, base_url=base, root=root)}</li>" for f in self.files)
        self.value = f"<ul style='margin:2px 0'>{items}</ul>"


class PlotExport(W.HBox):
    """A "PNG" button for one bqplot figure.

    Parameters
    ----------
    figure
        The bqplot ``Figure``.
    filename
        Name of the PNG (``light_curve.png``).
    directory
        Where the server-side copy is written (None: only the browser download).
    """

    def __init__(self, figure: Any, filename: str, directory: str | os.PathLike | None = None, **kw: Any):
        self.figure = figure
        self.filename = filename
        self.directory = Path(directory) if directory is not None else None
        self.button = W.Button(
            description="PNG",
            icon="download",
            tooltip=f"save this plot as {filename}",
            layout=W.Layout(width="80px"),
        )
        self.button.add_class("daisy-png-export")
        self.button.on_click(lambda _b: self.export())
        self.link = W.HTML(value="")
        super().__init__(children=[self.button, self.link], **kw)
        self.last_path: Path | None = None

    def export(self) -> Path | None:
        """Download in the browser (as displayed) and write the server-side PNG; returns its path."""
        try:
            self.figure.save_png(self.filename)
        except Exception:
            pass
        if self.directory is None:
            return None
        path = self.directory / self.filename
        try:
            figure_to_png(self.figure, path)
        except Exception as exc:
            self.link.value = f"<span style='color:#c00'>could not write {html.escape(self.filename)}: {html.escape(str(exc))}</span>"
            return None
        base, root = server_files_location()
        self.link.value = file_link(path, base_url=base, root=root)
        self.last_path = path
        return path
