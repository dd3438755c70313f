"""The data toolbox: the session's data store as a tree, the data service's catalog and the user's files.

A row per group and per object (name, shape, dtype, size, kind). Clicking a row
selects it: its preview (image slice, 1-D plot, table head) and attributes show
below, and the object becomes available in the console under its Python name.
Clicking it again (a double-click) or *Plot* opens its plot window. Objects
created in the console or the editor appear after the cell runs (the panel
listens to :class:`.objects.SessionObjects`). *Files* adds an HDF5 file's datasets
(lazily) or a ``.npy`` array to the store; *Catalog* browses the data service and
loads an array or a table from it.

CSS classes: ``daisy-data-toolbox``, ``daisy-data-tree``, ``daisy-data-row`` (with
``daisy-data-group`` for groups and ``daisy-data-selected``), ``daisy-data-plot``,
``daisy-data-info``, ``daisy-data-sections``, ``daisy-data-catalog`` (``daisy-catalog-entry``), ``daisy-data-files``.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as W

from .objects import ObjectInfo, SessionObjects
from .plots import preview

#: seconds between two clicks on a row that count as a double-click
DOUBLE_CLICK_S = 0.8


class DataToolbox(W.VBox):
    """The data toolbox panel over a :class:`SessionObjects`.

    Parameters
    ----------
    objects
        The session's objects (store and console namespace).
    files_root
        Folder the *Files* section browses (default: the home folder).
    """

    def __init__(self, objects: SessionObjects, files_root: str | os.PathLike | None = None, **kw: Any):
        self.objects = objects
        self.selected: str | None = None
        self._open_callbacks: list[Callable[[str], None]] = []
        self._last_click: tuple[str, float] = ("", 0.0)
        self.sections = W.ToggleButtons(options=["Session", "Catalog", "Files"], value="Session")
        self.sections.style.button_width = "80px"
        self.sections.add_class("daisy-data-sections")
        self.sections.observe(lambda _c: self._show_section(), names="value")
        self.tree = W.VBox([], layout=W.Layout(max_height="360px", overflow_y="auto"))
        self.tree.add_class("daisy-data-tree")
        self.plot_button = W.Button(
            description="Plot", icon="line-chart", disabled=True, tooltip="open its plot window"
        )
        self.plot_button.add_class("daisy-data-plot")
        self.plot_button.on_click(lambda _b: self.open_plot(self.selected) if self.selected else None)
        self.refresh_button = W.Button(
            icon="refresh", tooltip="re-read the store", layout=W.Layout(width="36px")
        )
        self.refresh_button.on_click(lambda _b: self.objects.sync_from_namespace() or self.redraw())
        self.info = W.HTML("")
        self.info.add_class("daisy-data-info")
        self.preview_box = W.VBox([])
        self.catalog_box = W.VBox([])
        self.catalog: Any = None  # CatalogBrowser, made on first use
        self._catalog_message = W.HTML("")
        self.catalog_box.add_class("daisy-data-catalog")
        self.files_box = W.VBox([])
        self.files_box.add_class("daisy-data-files")
        self._files_root = Path(files_root) if files_root else Path.home()
        self.session_box = W.VBox(
            [self.tree, W.HBox([self.plot_button, self.refresh_button]), self.info, self.preview_box]
        )
        super().__init__(
            [W.HTML("<b>Data</b>"), self.sections, self.session_box, self.catalog_box, self.files_box], **kw
        )
        self.add_class("daisy-data-toolbox")
        objects.on_change(lambda _o: self.redraw())
        self._show_section()
        self.redraw()

    # -- the tree --------------------------------------------------------------------------
    def redraw(self) -> None:
        """Rebuild the tree from the store (keeps the selection when the object is still there)."""
        rows = self.objects.rows()
        if self.selected is not None and self.selected not in self.objects.store:
            self.selected = None
            self.info.value = ""
            self.preview_box.children = ()
            self.plot_button.disabled = True
        buttons = [self._row(r) for r in rows]
        if not buttons:
            empty = W.HTML(
                "<i>empty: create an array in the console (<code>x = np.random.rand(64, 64)</code>), "
                "open a file, or run an algorithm</i>"
            )
            buttons = [empty]
        self.tree.children = tuple(buttons)

    def _row(self, info: ObjectInfo) -> W.Button:
        b = W.Button(
            description=("  " * info.depth) + info.label,
            tooltip=info.key if info.is_group else f"{info.key}: in the console as {info.name}",
            layout=W.Layout(
                width="100%", height="26px", flex="0 0 auto", margin=f"0 0 0 {12 * info.depth}px"
            ),
        )
        b.style.font_family = "monospace"
        b.add_class("daisy-data-row")
        if info.is_group:
            b.add_class("daisy-data-group")
        if info.key == self.selected:
            b.add_class("daisy-data-selected")
            b.button_style = "info"
        b.on_click(lambda _b, key=info.key, group=info.is_group: self._clicked(key, group))
        return b

    def _clicked(self, key: str, group: bool) -> None:
        if group:
            return
        last_key, last_t = self._last_click
        now = time.monotonic()
        self._last_click = (key, now)
        if last_key == key and now - last_t < DOUBLE_CLICK_S:
            self.open_plot(key)
            return
        self.select(key)

    def select(self, key: str) -> str:
        """Select ``key``: preview, attributes, and the object in the console by name; returns that name."""
        info = self.objects.info(key)
        name = self.objects.publish(key)
        self.selected = key
        self.objects.selected_hint = key
        value = self.objects.store[key]
        attrs = "".join(f"<li>{html.escape(k)} = {html.escape(v)}</li>" for k, v in info.attrs)
        self.info.value = (
            f"<div><b>{html.escape(key)}</b>: {html.escape(info.kind)}, shape {info.shape}, "
            f"{html.escape(info.dtype)}, {html.escape(info.size)}</div>"
            f"<div>in the console as <code class='daisy-data-name'>{html.escape(name)}</code></div>"
            + (f"<ul>{attrs}</ul>" if attrs else "")
        )
        try:
            self.preview_box.children = (preview(key, value, dict(self.objects.store.attrs(key))),)
        except Exception as exc:  # a preview must not break the toolbox
            self.preview_box.children = (W.HTML(f"<i>no preview: {html.escape(str(exc))}</i>"),)
        self.plot_button.disabled = False
        self.redraw()
        return name

    def open_plot(self, key: str) -> None:
        """Open the plot window of ``key`` (what a double-click does)."""
        if self.selected != key:
            self.select(key)
        for cb in self._open_callbacks:
            cb(key)

    def on_open(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(key)`` when a plot window is asked for."""
        self._open_callbacks.append(callback)

    # -- other sections --------------------------------------------------------------------
    def _show_section(self) -> None:
        which = self.sections.value
        self.session_box.layout.display = "flex" if which == "Session" else "none"
        self.catalog_box.layout.display = "flex" if which == "Catalog" else "none"
        self.files_box.layout.display = "flex" if which == "Files" else "none"
        if which == "Catalog" and not self.catalog_box.children:
            self.show_catalog()
        if which == "Files" and not self.files_box.children:
            self._build_files()

    def show_catalog(self) -> None:
        """List the current container of the data service (buttons: enter a container, load an array
        or a table into the store), or say why it cannot be listed."""
        if self.catalog is None:
            if not os.environ.get("DAISY_TILED_URL"):
                self.catalog_box.children = (
                    W.HTML("<i>no data service configured (DAISY_TILED_URL): use Files</i>"),
                )
                return
            from .catalog import CatalogBrowser

            self.catalog = CatalogBrowser()
        try:
            entries = self.catalog.entries()
        except Exception as exc:  # the service unreachable, a bad key: said, the toolbox goes on
            self.catalog_box.children = (
                W.HTML(f"<span style='color:#c00'>data service: {html.escape(str(exc))}</span>"),
            )
            return
        where = "/" + "/".join(self.catalog.path)
        up = W.Button(description="Up", icon="arrow-up", disabled=not self.catalog.path)
        up.on_click(lambda _b: (self.catalog.up(), self.show_catalog()))
        rows: list[W.Widget] = [W.HBox([up, W.HTML(f"<code>{html.escape(where)}</code>")])]
        for key, family in entries:
            b = W.Button(description=f"{key}  {family}", layout=W.Layout(width="100%", flex="0 0 auto"))
            b.add_class("daisy-catalog-entry")
            b.on_click(lambda _b, k=key, f=family: self._catalog_clicked(k, f))
            rows.append(b)
        rows.append(self._catalog_message)
        self.catalog_box.children = tuple(rows)

    def _catalog_clicked(self, key: str, family: str) -> None:
        try:
            if family in ("array", "table"):
                store_key = self.catalog.load(key, self.objects)
                self._catalog_message.value = f"loaded {html.escape(store_key)} into the store"
                return
            self.catalog.enter(key)
        except Exception as exc:
            self._catalog_message.value = f"<span style='color:#c00'>{html.escape(str(exc))}</span>"
            return
        self.show_catalog()

    def _build_files(self) -> None:
        from ..widgets.file_browser import FileBrowser

        browser = FileBrowser(self._files_root, extensions=(".h5", ".hdf5", ".nxs", ".npy"), width=300)
        message = W.HTML("")

        def opened(path: str) -> None:
            try:
                keys = self.add_file(path)
            except Exception as exc:
                message.value = (
                    f"<span style='color:#c00'>{html.escape(path)}: {html.escape(str(exc))}</span>"
                )
                return
            message.value = f"added {len(keys)} object(s) from {html.escape(path)}"

        browser.on_open(opened)
        self.files_box.children = (browser, message)

    def add_file(self, path: str | os.PathLike) -> list[str]:
        """Put a file's data into the store: every dataset of an HDF5 file (lazily, under the file's
        stem) or a ``.npy`` array; returns the keys added."""
        import numpy as np

        p = Path(path)
        before = set(self.objects.store.keys())
        if p.suffix.lower() == ".npy":
            self.objects.store[p.stem] = np.load(p, mmap_mode="r")
        else:
            self.objects.store.add_file(p, prefix=p.stem)
        self.objects.changed()
        return sorted(set(self.objects.store.keys()) - before)
