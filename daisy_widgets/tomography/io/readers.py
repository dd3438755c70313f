"""Pick the reader by layout: :func:`read_scan` for any scan Daisy reads.

Without a layout, a Data Exchange file (``/exchange``) or a NeXus NXtomo entry
is recognised; anything else is refused with the way forward (``daisy tomo
inspect``). With a :class:`~.layout.Layout` (or its options as keywords:
``data``, ``image_key``, ``angles``, ...), the named paths are read; options
left out of a layout for a Data Exchange or NXtomo file take that layout's
standard paths. Folders, globs and ``.tif`` files are read as TIFF stacks.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from ...core.errors import InputFileError
from .dxchange import read_data_exchange
from .hdf5 import open_h5
from .layout import Layout
from .nxtomo import find_nxtomo, read_nxtomo
from .paths import read_paths, read_tiff_scan
from .scan import DX_DARKS, DX_DATA, DX_FLATS, DX_THETA, Scan
from .tiff import is_tiff_name


class UnknownLayoutError(InputFileError):
    """A file Daisy can read once told where the parts are (``daisy tomo inspect``, the app's layout form)."""


#: keywords of read_data_exchange / read_nxtomo that read_scan passes on as before
STANDARD_KW = {"data", "flats", "darks", "theta", "entry"}
LAYOUT_KW = {"image_key", "angles", "angles_unit", "flats_path", "darks_path"}


def is_tiff_input(path: str) -> bool:
    """A folder, a glob, or a ``.tif``/``.tiff`` file: read as a TIFF stack."""
    return os.path.isdir(path) or glob.has_magic(path) or is_tiff_name(path)


def standard_layout(path: str) -> Layout | None:
    """The layout of a Data Exchange or NXtomo file with its standard paths, or None."""
    with open_h5(path) as f:
        if "/exchange" in f:
            return Layout(
                kind="dxchange",
                data=DX_DATA,
                angles=DX_THETA,
                flats=[DX_FLATS] if DX_FLATS in f else None,
                darks=[DX_DARKS] if DX_DARKS in f else None,
            )
        entry = find_nxtomo(f)
        if entry is None:
            return None
        det = f"{entry}/instrument/detector"
        key = f"{det}/image_key" if f"{det}/image_key" in f else f"{det}/image_key_control"
        return Layout(
            kind="nxtomo",
            entry=entry,
            data=f"{det}/data",
            image_key=key,
            angles=f"{entry}/sample/rotation_angle",
        )


def merge_layout(standard: Layout | None, given: Layout) -> Layout:
    """``given`` with the fields it leaves out taken from ``standard`` (the file's own layout)."""
    if standard is None:
        return given
    out = Layout(**{k: v for k, v in standard.__dict__.items()})
    out.kind = "paths"
    for k, v in given.__dict__.items():
        if k != "kind" and v not in (None, [], ""):
            setattr(out, k, v)
    return out


def read_scan(
    path: str | os.PathLike, validate: bool = True, layout: Layout | dict | None = None, **kw: Any
) -> Scan:
    """Read a scan: Data Exchange, NXtomo, any HDF5/NeXus by named paths, or TIFF files.

    Parameters
    ----------
    path
        HDF5/NeXus file, or TIFF folder/glob/multi-page file.
    validate
        Check shapes, counts and flats (reads flats and darks, not projections).
    layout
        A :class:`~.layout.Layout` (or its dict); None: recognise Data Exchange/NXtomo.
    **kw
        ``data``/``flats``/``darks``/``theta`` (Data Exchange paths) or ``entry`` (NXtomo) as before;
        ``image_key``, ``angles``, ``angles_unit``, ``flats_path``, ``darks_path`` make a layout.

    Raises
    ------
    InputFileError
        Naming the file, the field and what was expected; for an unknown layout, pointing to
        ``daisy tomo inspect``.
    """
    p = os.fspath(path)
    if isinstance(layout, dict):
        layout = Layout.from_dict(layout)
    if layout is None and set(kw) & LAYOUT_KW:
        layout = Layout(
            **{k: ([v] if k in ("flats", "darks") and isinstance(v, str) else v) for k, v in kw.items()}
        )
        kw = {}
    if layout is not None:
        if layout.kind == "tiff" or is_tiff_input(p):
            return read_tiff_scan(p, layout, validate=validate)
        p = os.path.abspath(p)
        if layout.kind == "dxchange" and layout.is_standard:
            return read_data_exchange(p, validate=validate)
        if layout.kind == "nxtomo" and layout.is_standard:
            return read_nxtomo(p, layout.entry, validate=validate)
        return read_paths(p, merge_layout(standard_layout(p), layout), validate=validate)
    if is_tiff_input(p):
        raise UnknownLayoutError(
            p,
            "--angles",
            "TIFF projections with their angles (--angles FILE_OR_START:STOP:N) and --flats/--darks",
            "no angles given; run 'daisy tomo inspect' for the command that reads it",
        )
    p = os.path.abspath(p)
    with open_h5(p) as f:
        is_dx = "/exchange" in f
        is_nx = not is_dx and find_nxtomo(f) is not None
    if is_dx:
        return read_data_exchange(p, validate=validate, **kw)
    if is_nx or "entry" in kw:
        return read_nxtomo(p, validate=validate, **kw)
    raise UnknownLayoutError(
        p,
        "",
        "a Data Exchange file (/exchange/data) or a NeXus NXentry with definition 'NXtomo'; "
        "for other layouts name the paths (--data, --image-key, --angles, --flats, --darks)",
        f"neither; run 'daisy tomo inspect {p}' to list candidate datasets and the command that reads it",
    )
