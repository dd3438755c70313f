"""Tiled adapter serving the main binary table of a FITS file (an HXMT Level-1 file) as a table.

Registered for the mimetype :data:`FITS_MIMETYPE`; the server reads the file
when a client asks for the table, the raw file stays downloadable as an asset.
Vector (multi-element) columns are left out of the table view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FITS_MIMETYPE = "application/fits"


def read_fits_table(path: str | Path, rows: int | None = None) -> Any:
    """First binary-table extension of a FITS file as a pandas DataFrame (native byte order).

    ``rows``: only the first ``rows`` rows (the file is memory-mapped, the rest never read);
    enough for the table's structure (column names and types), which does not depend on the
    number of rows.
    """
    import numpy as np
    import pandas as pd
    from astropy.io import fits

    with fits.open(path, memmap=rows is not None) as hl:
        for hdu in hl[1:]:
            if isinstance(hdu, fits.BinTableHDU):
                data = hdu.data if rows is None or hdu.data is None else hdu.data[:rows]
                cols = {}
                for c in hdu.columns.names:
                    v = np.asarray(data[c]) if data is not None else np.zeros(0)
                    if v.ndim != 1:
                        continue
                    cols[c] = v.astype(v.dtype.newbyteorder("=")) if v.dtype.kind in "iufb" else v.astype(str)
                return pd.DataFrame(cols)
    return pd.DataFrame({})


class FITSTableAdapter:
    """Factory of Tiled table adapters over a FITS file (``from_catalog`` / ``from_uris``)."""

    structure_family = "table"

    @classmethod
    def from_uris(cls, data_uri: str, **kwargs: Any) -> Any:
        from tiled.adapters.table import TableAdapter
        from tiled.utils import path_from_uri

        return TableAdapter.from_pandas(read_fits_table(path_from_uri(data_uri)), **kwargs)

    @classmethod
    def from_catalog(cls, data_source: Any, node: Any, /, **kwargs: Any) -> Any:
        uri = next(a.data_uri for a in data_source.assets)
        return cls.from_uris(uri, metadata=node.metadata_, specs=node.specs)
