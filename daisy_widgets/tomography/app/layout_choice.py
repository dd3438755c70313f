"""Opening files of unknown layout in the app: remembered layouts, the inspection the form shows.

No widgets here (the form is :mod:`.stage_open_layout`). A local file whose
name matches a pattern the user opened before (``scan_*.nxs``) is read with the
layout remembered for it (:class:`~daisy_widgets.tomography.io.LayoutMemory`,
``~/.daisy/tomo_layouts.json``); a file no reader recognises is inspected
(:func:`~daisy_widgets.tomography.io.inspect_scan`) and its candidates go to
``model.layout_form`` for the user to confirm.
"""

from __future__ import annotations

import os
from typing import Any

from ...store.objects import is_service_uri
from ..io import Layout, LayoutMemory, inspect_scan, read_scan


def remembered_layout(path: str | os.PathLike) -> Layout | None:
    """The layout remembered for a local file named like ``path``, or None (service entries: None)."""
    p = os.fspath(path)
    if is_service_uri(p):
        return None
    return LayoutMemory().recall(p)


def layout_target(path: str | os.PathLike) -> str:
    """What to inspect for ``path``: a single-page TIFF stands for its folder (the series); else ``path``."""
    p = os.fspath(path)
    if p.lower().endswith((".tif", ".tiff")) and os.path.isfile(p):
        from ..io.tiff import scan_pages

        try:
            if len(scan_pages([p])[0]) == 1:
                return os.path.dirname(os.path.abspath(p))
        except Exception:
            return p
    return p


def inspection_for_form(path: str | os.PathLike, remembered: Layout | None = None) -> dict[str, Any]:
    """The inspection of ``path`` as the form's model value (JSON-able), the remembered layout pre-filled."""
    insp = inspect_scan(layout_target(path))
    d = insp.to_dict()
    if remembered is not None:
        d["layout"] = remembered.to_dict()
    return d


def read_with_layout(path: str | os.PathLike, layout: Layout | dict, remember: bool = False) -> Any:
    """Read ``path`` with ``layout``; on success, remember it for the file-name pattern when asked."""
    lay = Layout.from_dict(layout) if isinstance(layout, dict) else layout
    scan = read_scan(path, layout=lay)
    if remember:
        LayoutMemory().remember(path, lay)
    return scan
