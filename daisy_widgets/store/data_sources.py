"""The Tiled data sources the catalog registers for files: FITS tables (HXMT) and HDF5 scans.

Each is an ``external`` data source: the file stays where it is and is registered as an
asset (its URI and size) with its structure. A FITS table's structure (columns and types)
depends only on its binary-table header: :class:`TableStructures` computes it once per
header signature (:func:`.fits_header.table_signature`) and gives the same dictionary for
every file with that signature, instead of reading each file's first row with astropy and
building a pandas frame and an Arrow schema (about 8 ms per file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import fits_header
from .fits_adapter import FITS_MIMETYPE, read_fits_table


def table_structure(path: Path) -> dict[str, Any]:
    """The Tiled table structure of the file's first binary table, read from the file.

    The structure (columns and types) from the first row: the same as from the whole table,
    without reading a large event file at registration.
    """
    from tiled.adapters.table import TableAdapter

    return asdict(TableAdapter.from_pandas(read_fits_table(path, rows=1)).structure())


class TableStructures:
    """Table structures by header signature, for one registration run.

    Only structures computed from a file (:func:`table_structure`) are kept; a file whose
    signature is unknown, or that the fast header reader does not decide (None), is read.
    """

    def __init__(self) -> None:
        self.by_signature: dict[tuple, dict[str, Any]] = {}
        self.read = 0  # files read to compute a structure

    def __call__(self, path: Path) -> dict[str, Any]:
        sig = fits_header.table_signature(path)
        if sig is not None and sig in self.by_signature:
            return self.by_signature[sig]
        self.read += 1
        structure = table_structure(path)
        if sig is not None:
            self.by_signature[sig] = structure
        return structure


def table_source(path: Path, structures: Callable[[Path], dict] | None = None) -> Any:
    """The external FITS-table data source of ``path`` (``structures``: a :class:`TableStructures`)."""
    from tiled.structures.data_source import Asset, DataSource, Management
    from tiled.utils import ensure_uri

    structure = (structures or table_structure)(path)
    return DataSource(
        structure_family="table",
        structure=structure,
        mimetype=FITS_MIMETYPE,
        parameters={},
        management=Management.external,
        assets=[
            Asset(
                data_uri=ensure_uri(path), is_directory=False, parameter="data_uri", size=path.stat().st_size
            )
        ],
    )


def table_sources(
    exp: Any, log: Callable[[str], None], structures: Callable[[Path], dict] | None = None
) -> list[Any]:
    """The data source of each Level-1 file of ``exp`` (None for a file that cannot be read: logged
    with its path)."""
    out = []
    for f in exp.files:
        try:
            out.append(table_source(f.path, structures))
        except Exception as exc:
            log(f"  skipped {f.path}: {type(exc).__name__}: {exc}")
            out.append(None)
    return out


def hdf5_source(path: Path) -> Any:
    """The external HDF5 data source of a tomography scan file (a container over the file)."""
    from tiled.adapters.hdf5 import HDF5Adapter
    from tiled.structures.data_source import Asset, DataSource, Management
    from tiled.utils import ensure_uri

    adapter = HDF5Adapter.from_uris(ensure_uri(path))
    st = adapter.structure()
    return DataSource(
        structure_family="container",
        structure=asdict(st) if st is not None else None,
        mimetype="application/x-hdf5",
        parameters={},
        management=Management.external,
        assets=[
            Asset(
                data_uri=ensure_uri(path),
                is_directory=False,
                parameter="data_uris",
                num=0,
                size=path.stat().st_size,
            )
        ],
    )
