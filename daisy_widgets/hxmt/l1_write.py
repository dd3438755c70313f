"""Writing Level-1 tables: one FITS binary table with the observation keywords, atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.atomic import atomic_path

_FORMATS = {
    np.dtype(np.float64): "D",
    np.dtype(np.float32): "E",
    np.dtype(np.int16): "I",
    np.dtype(np.int32): "J",
    np.dtype(np.uint8): "B",
    np.dtype(np.int64): "K",
}


def write_fits_table(
    path: Path,
    extname: str,
    columns: dict[str, np.ndarray],
    meta: dict[str, object],
    units: dict[str, str] | None = None,
) -> Path:
    """Write one binary table (plus a primary header carrying ``meta``) atomically."""
    from astropy.io import fits

    units = units or {}
    cols = [
        fits.Column(name=k, format=_FORMATS[np.asarray(v).dtype], array=v, unit=units.get(k))
        for k, v in columns.items()
    ]
    prim = fits.PrimaryHDU()
    prim.header.update(meta)
    tab = fits.BinTableHDU.from_columns(cols, name=extname)
    tab.header.update(meta)
    with atomic_path(path) as tmp:
        fits.HDUList([prim, tab]).writeto(tmp, overwrite=True)
    return path
