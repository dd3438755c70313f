"""Tomography files: readers by layout (all lazy, all returning one :class:`Scan`), the inspector, writers.

Readers
    :func:`read_scan` picks one: :func:`read_data_exchange` (``/exchange/...``),
    :func:`read_nxtomo` (NeXus NXtomo), :func:`read_paths` (any HDF5/NeXus by named
    paths and image key, external links followed) and :func:`read_tiff_scan` (a
    folder, glob or multi-page TIFF with an angle list). Projections, flats and
    darks are dask arrays (nothing is read until computed); a file that cannot
    be read is refused before any work with an
    :class:`~daisy_widgets.core.errors.InputFileError` naming the file, the field
    and what was expected.
Inspector
    :func:`inspect_scan` lists candidate datasets of an unknown file and the
    :class:`Layout` (a serialisable spec, remembered per file-name pattern by
    :class:`LayoutMemory`) and ``daisy tomo recon`` command that read it.
Writers
    :func:`write_recon` (Data Exchange HDF5), :func:`write_recon_nexus` (NeXus
    NXtomoproc), :func:`write_tiff_stack`, with parameters and provenance
    (:func:`scan_provenance`); raw scans: :func:`write_data_exchange`,
    :func:`write_nxtomo`. Every file is written atomically.
"""

from __future__ import annotations

from .dxchange import read_data_exchange, write_data_exchange
from .hdf5 import open_h5 as _open  # noqa: F401  (the old private name)
from .inspector import Inspection, inspect_scan, scan_summary
from .layout import Layout, LayoutMemory, name_pattern, recon_command
from .nxtomo import read_nxtomo, write_nxtomo
from .paths import read_paths, read_tiff_scan
from .provenance import scan_provenance, software_versions
from .readers import UnknownLayoutError, read_scan, standard_layout
from .scan import DX_DARKS, DX_DATA, DX_FLATS, DX_FLATS_POST, DX_THETA, Scan
from .writers import (
    FORMATS,
    read_provenance,
    read_recon,
    recon_writer,
    write_recon,
    write_recon_nexus,
    write_tiff_stack,
)

__all__ = [
    "DX_DARKS",
    "DX_DATA",
    "DX_FLATS",
    "DX_FLATS_POST",
    "DX_THETA",
    "FORMATS",
    "Inspection",
    "Layout",
    "LayoutMemory",
    "Scan",
    "UnknownLayoutError",
    "inspect_scan",
    "name_pattern",
    "read_data_exchange",
    "read_nxtomo",
    "read_paths",
    "read_provenance",
    "read_recon",
    "read_scan",
    "read_tiff_scan",
    "recon_command",
    "recon_writer",
    "scan_provenance",
    "scan_summary",
    "software_versions",
    "standard_layout",
    "write_data_exchange",
    "write_nxtomo",
    "write_recon",
    "write_recon_nexus",
    "write_tiff_stack",
]
