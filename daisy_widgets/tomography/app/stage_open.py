"""Stage 1, Open: browse the data folder (or the data service), open a scan, see its metadata."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as W
import numpy as np

from ...widgets.file_browser import FileBrowser
from ...widgets.stage import Stage
from .help_texts import stage_help
from .logic import BROWSE_EXTENSIONS
from .stage_open_layout import LayoutForm

_NO_SCAN = (
    "<i>No scan open. Pick a Data Exchange, NXtomo or other HDF5/NeXus file, or a TIFF, and press Open.</i>"
)


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def metadata_html(scan: Any) -> str:
    """The scan's geometry, angles, flats/darks and beam metadata as an HTML table."""
    na, nr, nc = scan.shape
    th, meta = scan.theta, scan.metadata
    step = np.median(np.diff(th)) if na > 1 else 0
    flats = (
        "none"
        if scan.flats is None
        else f"{scan.flats.shape[0]} frames"
        + ("" if scan.flats_after is None else f" + {scan.flats_after.shape[0]} after the scan")
    )
    rows = [
        ("file", html.escape(str(scan.path))),
        ("projections", f"{na} angles × {nr} rows × {nc} columns ({scan.projections.dtype})"),
        ("angles", f"{th.min():.2f}° … {th.max():.2f}° (step {step:.3f}°)"),
        ("flats", flats),
        ("darks", "none" if scan.darks is None else f"{scan.darks.shape[0]} frames"),
        ("energy", f"{meta['energy']} keV" if "energy" in meta else "not in the file"),
        (
            "pixel size",
            f"{float(meta['pixel_size']) * 1e6:.3g} µm" if "pixel_size" in meta else "not in the file",
        ),
        ("distance", f"{meta['distance']} m" if "distance" in meta else "not in the file"),
    ]
    rows += [
        (k, html.escape(_fmt(v))) for k, v in meta.items() if k not in ("energy", "pixel_size", "distance")
    ]
    cells = "".join(
        f"<tr><td style='padding-right:12px;color:#555'>{k}</td><td>{v}</td></tr>" for k, v in rows
    )
    return f"<table style='font-size:13px'>{cells}</table>"


class OpenStage(Stage):
    """Stage 1: the file browser (and the data service's list when one is set) and the scan's metadata.

    Opening goes through the controller (:meth:`TomographyController.open_scan`); the
    metadata follows ``model.scan``, the service list ``model.service_scans``. A file of
    unknown layout shows the :class:`~.stage_open_layout.LayoutForm` (``self.layout_form``),
    which follows ``model.layout_form``.
    """

    title = "1 Open"
    help_text, help_algorithms, help_docs = stage_help("open")

    def _render(self) -> list[W.Widget]:
        c = self.controller
        from ...store.acquisition import acquisition_state
        from .live_panel import LivePanel

        self.browser = FileBrowser(
            c.data_dir, extensions=BROWSE_EXTENSIONS, rows=10, width=460, annotate=acquisition_state
        )
        self.browser.on_open(lambda path: c.guard(c.open_scan, path))
        self.metadata = W.HTML(value=_NO_SCAN)
        self.metadata.add_class("daisy-tomo-metadata")
        left = [W.HTML("<b>Data folder</b>"), self.browser]
        self.service_list = W.Select(options=[], rows=5, layout=W.Layout(width="460px"))
        self.service_list.add_class("daisy-tomo-service-list")
        self.service_open_button = W.Button(
            description="Open from service", icon="cloud-download", layout=W.Layout(width="160px")
        )
        self.service_refresh_button = W.Button(
            description="Refresh", icon="refresh", layout=W.Layout(width="100px")
        )
        self.service_open_button.on_click(lambda _b: c.guard(self.open_from_service))
        self.service_refresh_button.on_click(lambda _b: c.guard(c.list_service_scans))
        if c.service_url:
            left += [
                W.HTML(f"<b>Data service</b> <span style='color:#555'>{html.escape(c.service_url)}</span>"),
                self.service_list,
                W.HBox([self.service_open_button, self.service_refresh_button]),
            ]
        self.observe_model(lambda _c: self._show_scan(), "scan")
        self.observe_model(lambda _c: self._show_service_scans(), "service_scans")
        self.layout_form = LayoutForm(self.model, c).render()
        self.live_panel = LivePanel(c, lambda: self.browser.selected_path)  # live mode: a scan being written
        left.append(self.live_panel)
        box = W.HBox(
            [
                W.VBox(left),
                W.VBox(
                    [self.layout_form, W.HTML("<b>Scan</b>"), self.metadata],
                    layout=W.Layout(margin="0 0 0 16px", width="560px"),
                ),
            ]
        )
        return [box]

    def refresh(self) -> None:
        self._show_scan()
        self._show_service_scans()
        self.layout_form.refresh()

    def close(self) -> None:
        if hasattr(self, "live_panel"):
            self.live_panel.close()
        self.layout_form.close()
        super().close()

    def _show_scan(self) -> None:
        scan = self.model.scan
        self.metadata.value = _NO_SCAN if scan is None else metadata_html(scan)

    def _show_service_scans(self) -> None:
        options = list(self.model.service_scans)
        self.service_list.options = options
        if options and self.service_list.value is None:
            self.service_list.value = options[0][1]

    def select_file(self, path: str | Path) -> None:
        """Show ``path`` selected in the browser (its folder, when under the browser's root)."""
        path = Path(path).resolve()
        if self.browser._inside(path.parent):
            self.browser.cwd = path.parent
        self.browser.refresh()
        if path.name in self.browser.entries:
            self.browser.select(path.name)

    def open_from_service(self, name: str | None = None) -> Any:
        """Open the service's scan ``tomography/<name>`` (default: the one picked in the list).

        Its arrays are read from the service chunk by chunk; nothing is downloaded whole.
        """
        c = self.controller
        name = name or self.service_list.value
        if not name:
            if not self.service_list.options:
                c.list_service_scans()
            name = self.service_list.value
        if not name:
            c.error("no scan picked: the data service lists no tomography scan")
            return None
        return c.open_scan(f"tomography/{name}")


__all__ = ["OpenStage", "metadata_html"]
