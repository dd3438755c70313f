"""Browse a data directory for files of given types (no technique knowledge).

:class:`FileBrowser` lists the folders and matching files of one directory
under a root (the user cannot leave the root), with *Up*, *Refresh* and
*Open*; double use: click a folder and *Open* enters it, a file and *Open*
calls the ``on_open`` callbacks with its path. The size and modification time
of the selected file are shown.

Example::

    browser = FileBrowser("~/data", extensions=(".h5", ".hdf5", ".nxs"))
    browser.on_open(lambda path: print("open", path))

CSS classes: ``daisy-file-browser``, ``daisy-fb-path``, ``daisy-fb-list`` (a ``<select>``),
``daisy-fb-up``, ``daisy-fb-refresh``, ``daisy-fb-open``, ``daisy-fb-info``.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as W

_DIR = "📁 "


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


class FileBrowser(W.VBox):
    """List folders and files with the given extensions under ``root``.

    Parameters
    ----------
    root
        The top directory (``~`` expanded); a missing root is reported in the widget, not raised.
    extensions
        File name endings to list (case-insensitive), e.g. ``(".h5", ".nxs")``; empty: all files.
    start
        Directory (under ``root``) to show first; default ``root``.
    rows
        Height of the list in rows.
    annotate
        ``annotate(path)`` -> a note shown after the file's name (e.g. ``"acquiring"``), or None.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        extensions: Sequence[str] = (),
        start: str | os.PathLike | None = None,
        rows: int = 8,
        width: int = 420,
        annotate: Callable[[Path], str | None] | None = None,
        **kw: Any,
    ):
        self.root = Path(os.path.expanduser(os.fspath(root))).resolve()
        self.extensions = tuple(e.lower() for e in extensions)
        self.annotate = annotate  # a note shown after a file's name (e.g. "acquiring"), or None
        self.cwd = self.root
        self._callbacks: list[Callable[[str], None]] = []
        self.path_label = W.HTML(value="")
        self.path_label.add_class("daisy-fb-path")
        self.listing = W.Select(options=[], rows=rows, layout=W.Layout(width=f"{width}px"))
        self.listing.add_class("daisy-fb-list")
        self.listing.observe(lambda _ch: self._show_info(), names="value")
        self.up_button = W.Button(
            description="Up", icon="arrow-up", layout=W.Layout(width="70px"), tooltip="parent folder"
        )
        self.up_button.add_class("daisy-fb-up")
        self.up_button.on_click(lambda _b: self.up())
        self.refresh_button = W.Button(description="Refresh", icon="refresh", layout=W.Layout(width="96px"))
        self.refresh_button.add_class("daisy-fb-refresh")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.open_button = W.Button(
            description="Open",
            icon="folder-open",
            button_style="primary",
            layout=W.Layout(width="90px"),
            tooltip="open the selected file or folder",
        )
        self.open_button.add_class("daisy-fb-open")
        self.open_button.on_click(lambda _b: self.open_selected())
        self.info = W.HTML(value="")
        self.info.add_class("daisy-fb-info")
        super().__init__(
            children=[
                self.path_label,
                self.listing,
                W.HBox([self.up_button, self.refresh_button, self.open_button]),
                self.info,
            ],
            **kw,
        )
        self.add_class("daisy-file-browser")
        if start is not None:
            p = Path(os.path.expanduser(os.fspath(start))).resolve()
            if p.is_dir() and self._inside(p):
                self.cwd = p
        self.refresh()

    # -- navigation ------------------------------------------------------------------------
    def _inside(self, p: Path) -> bool:
        return p == self.root or self.root in p.parents

    def _matches(self, name: str) -> bool:
        return not self.extensions or name.lower().endswith(self.extensions)

    @property
    def entries(self) -> list[str]:
        """Names shown: folders (``"name/"``) then matching files."""
        return [o[1] for o in self.listing.options]

    def refresh(self) -> None:
        """Re-read the current directory."""
        rel = self.cwd.relative_to(self.root)
        self.path_label.value = f"<code>{html.escape(str(self.root))}</code>" + (
            f" / <code>{html.escape(str(rel))}</code>" if str(rel) != "." else ""
        )
        if not self.root.is_dir():
            self.listing.options = []
            self.info.value = (
                f"<span style='color:#c00'>folder not found: {html.escape(str(self.root))}</span>"
            )
            return
        try:
            items = sorted(self.cwd.iterdir(), key=lambda p: p.name.lower())
        except OSError as exc:
            self.listing.options = []
            self.info.value = f"<span style='color:#c00'>cannot list {html.escape(str(self.cwd))}: {html.escape(str(exc))}</span>"
            return
        dirs = [
            (_DIR + p.name + "/", p.name + "/") for p in items if p.is_dir() and not p.name.startswith(".")
        ]
        files = [
            (self._label(p), p.name)
            for p in items
            if p.is_file() and self._matches(p.name) and not p.name.startswith(".")
        ]
        self.listing.options = dirs + files
        self.info.value = "" if dirs or files else "<i>no matching files here</i>"

    def _label(self, p: Path) -> str:
        note = self.annotate(p) if self.annotate is not None else None
        return f"{p.name}  · {note}" if note else p.name

    def up(self) -> None:
        if self.cwd != self.root:
            self.cwd = self.cwd.parent
            self.refresh()

    def enter(self, name: str) -> None:
        p = (self.cwd / name.rstrip("/")).resolve()
        if p.is_dir() and self._inside(p):
            self.cwd = p
            self.refresh()

    def select(self, name: str) -> None:
        """Select the entry ``name`` (a file name or ``"folder/"``)."""
        if name not in self.entries:
            raise ValueError(f"{name!r} is not listed in {self.cwd}")
        self.listing.value = name

    @property
    def selected_path(self) -> str | None:
        v = self.listing.value
        return None if v is None else str(self.cwd / v.rstrip("/"))

    def open_selected(self) -> None:
        """Enter the selected folder, or open the selected file (calls ``on_open`` callbacks)."""
        v = self.listing.value
        if v is None:
            self.info.value = "<i>select a file first</i>"
            return
        if v.endswith("/"):
            self.enter(v)
            return
        path = str(self.cwd / v)
        for cb in list(self._callbacks):
            cb(path)

    def on_open(self, callback: Callable[[str], None]) -> None:
        self._callbacks.append(callback)

    def _show_info(self) -> None:
        v = self.listing.value
        if v is None or v.endswith("/"):
            return
        try:
            st = (self.cwd / v).stat()
        except OSError:
            return
        self.info.value = (
            f"<span style='font-size:12px;color:#555'>{html.escape(v)} · {_size(st.st_size)} · "
            f"modified {time.strftime('%Y-%m-%d %H:%M', time.localtime(st.st_mtime))}</span>"
        )
