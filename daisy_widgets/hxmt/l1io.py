"""Reading Level-1 exposures: find the files, check their columns, load them as tables.

Every problem names the file, the column/extension and what was expected
(:class:`~daisy_widgets.core.errors.InputFileError`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import InputFileError
from .mission import L1_FOLDER, spec

#: required columns of each Level-1 file kind (FITS column names are matched case-insensitively)
REQUIRED = {
    "HE-Evt": ("Time", "Det_ID", "Channel", "Pulse_Width", "ACD", "Event_Type", "Flag"),
    "ME-Evt": ("Time", "Det_ID", "Channel", "Event_Type", "Flag"),
    "LE-Evt": ("Time", "Det_ID", "Channel", "Event_Type", "Flag"),
    "EHK": (
        "TIME",
        "ELV",
        "DYE_ELV",
        "COR",
        "SAA_FLAG",
        "T_SAA",
        "TN_SAA",
        "ANG_DIST",
        "SUN_ANG",
        "MOON_ANG",
    ),
    "Orbit": ("Time", "Lon", "Lat", "Alt"),
    "Att": ("Time", "Ra", "Dec"),
}
EXTNAME = {
    "HE-Evt": "Events",
    "ME-Evt": "Events",
    "LE-Evt": "Events",
    "EHK": "EHK",
    "Orbit": "Orbit",
    "Att": "ATT",
}
#: primary-header keywords copied into the products
META_KEYS = (
    "OBJECT",
    "RA_OBJ",
    "DEC_OBJ",
    "OBS_ID",
    "EXP_ID",
    "DATE-OBS",
    "DATE-END",
    "TSTART",
    "TSTOP",
    "EXPOSURE",
    "INSTLIST",
    "DATA_VER",
    "EQUINOX",
    "RADECSYS",
)


@dataclass
class Observation:
    """What the pipeline reads of one exposure.

    Attributes
    ----------
    files
        Paths by kind (``"HE-Evt"``, ``"EHK"``, ``"Orbit"``, ``"Att"``).
    meta
        Primary-header keywords of the event file (OBJECT, RA_OBJ, OBS_ID, TSTART...).
    """

    root: Path
    instrument: str
    files: dict[str, Path] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)


def find_exposure(l1_dir: str | Path, instrument: str) -> Observation:
    """Locate the Level-1 files of ``instrument`` under ``l1_dir`` (an exposure folder, or an
    ObsID folder holding exactly one exposure folder)."""
    inst = spec(instrument).name
    root = Path(l1_dir)
    if not root.is_dir():
        raise InputFileError(
            root, "", "a Level-1 folder with HE/, ME/, LE/, ACS/ and AUX/ sub-folders", "no such folder"
        )
    if not (root / inst).is_dir() and not (root / "AUX").is_dir():
        subs = [
            p for p in sorted(root.iterdir()) if p.is_dir() and ((p / inst).is_dir() or (p / "AUX").is_dir())
        ]
        if len(subs) == 1:
            root = subs[0]
        elif len(subs) > 1:
            raise InputFileError(
                root, "", "one exposure folder (give the one to process)", ", ".join(p.name for p in subs)
            )
    obs = Observation(root=root, instrument=inst)
    for kind in (f"{inst}-Evt", "EHK", "Orbit", "Att"):
        folder = root / L1_FOLDER[kind]
        hits = sorted(folder.glob(f"HXMT_*_{kind}_FFFFFF_V*_L1P.FITS")) if folder.is_dir() else []
        if not hits:
            raise InputFileError(
                folder,
                kind,
                f"a file named HXMT_<ExpID>_{kind}_FFFFFF_V<n>_L1P.FITS",
                "none" if folder.is_dir() else "no such folder",
            )
        obs.files[kind] = hits[-1]  # the highest version
    obs.meta = read_meta(obs.files[f"{inst}-Evt"])
    return obs


def _open(path: Path):
    from astropy.io import fits

    try:
        hl = fits.open(path, memmap=False)
        hl.verify("exception")
    except Exception as exc:
        raise InputFileError(
            path, "", "a complete, readable FITS file", f"{type(exc).__name__}: {exc}"
        ) from None
    return hl


def read_meta(path: Path) -> dict[str, object]:
    """Observation keywords from the primary header of a Level-1 file."""
    hl = _open(Path(path))
    with hl:
        h = hl[0].header
        return {k: h[k] for k in META_KEYS if k in h}


def read_table(path: str | Path, kind: str) -> np.ndarray:
    """Read a Level-1 table as a structured array with upper-case column names.

    Raises
    ------
    InputFileError
        Missing extension, missing or misnamed column, truncated or damaged file.
    """
    path = Path(path)
    hl = _open(path)
    with hl:
        hdu, ext, have = _table_hdu(hl, path, kind)
        direct = _direct_dtype(hdu, kind, have)
        if direct is not None:
            out = _read_direct(path, hdu, ext, direct)
            n = out.size
        else:
            out, n = _read_columns(path, hdu, ext, kind, have)
    if n:
        _check_times(out, path, ext, kind)
    return out


#: rows per block of :func:`read_table_blocks` (about 19 MB of HE events)
BLOCK_ROWS = 1 << 20


def read_table_blocks(
    path: str | Path, kind: str, rows: int = BLOCK_ROWS
) -> tuple[int, Iterator[np.ndarray]]:
    """A Level-1 table block by block: ``(number of rows, iterator of blocks)``.

    Each block is what :func:`read_table` gives for those rows (same columns and dtypes).
    A table of plain numbers is read from the file one block at a time into one reused
    buffer (memory: one block, whatever the file's size; a block is overwritten by the next,
    so copy what you keep); other tables are read whole through astropy and sliced.
    The checks are :func:`read_table`'s; non-finite times are found block by block.
    """
    path = Path(path)
    hl = _open(path)
    with hl:
        hdu, ext, have = _table_hdu(hl, path, kind)
        direct = _direct_dtype(hdu, kind, have)
        if direct is None:
            whole, n = _read_columns(path, hdu, ext, kind, have)
        else:
            n = int(hdu.header.get("NAXIS2", 0))
            offset = int(hdu.fileinfo()["datLoc"])
            _check_size(path, ext, offset, n, direct.itemsize)
    rows = max(1, int(rows))
    if direct is None:
        if n:
            _check_times(whole, path, ext, kind)
        return n, (whole[a : a + rows] for a in range(0, n, rows))
    return n, _file_blocks(path, ext, kind, direct, offset, n, rows)


def _file_blocks(
    path: Path, ext: str, kind: str, dtype: np.dtype, offset: int, n: int, rows: int
) -> Iterator[np.ndarray]:
    native = dtype.newbyteorder("=")
    buf = np.empty(min(rows, n), dtype)
    with open(path, "rb") as f:
        f.seek(offset)
        for a in range(0, n, rows):
            block = buf[: min(rows, n - a)]
            want = block.size * dtype.itemsize
            got = f.readinto(block.view(np.uint8))
            if got != want:
                raise InputFileError(
                    path, ext, f"complete table data ({n} rows)", f"{a + got // dtype.itemsize} rows read"
                )
            if native != dtype:
                block.byteswap(inplace=True)
            out = block.view(native)
            _check_times(out, path, ext, kind)
            yield out  # the next block's bytes are read over it


def _table_hdu(hl, path: Path, kind: str):
    """``(hdu, extension name, {upper-case column: file column})``, the columns checked."""
    ext = EXTNAME[kind]
    names = [h.name.upper() for h in hl]
    if ext.upper() not in names:
        raise InputFileError(path, ext, f"a binary table extension {ext!r}", "extensions " + ", ".join(names))
    hdu = hl[ext]
    have = {c.upper(): c for c in hdu.columns.names}
    for col in REQUIRED[kind]:
        if col.upper() not in have:
            close = [
                c for c in hdu.columns.names if c.upper().replace("_", "") == col.upper().replace("_", "")
            ]
            hint = f" (is {close[0]!r} meant to be {col!r}?)" if close else ""
            raise InputFileError(
                path, f"{ext}.{col}", f"column {col!r}{hint}", "columns " + ", ".join(hdu.columns.names)
            )
    return hdu, ext, have


def _check_times(table: np.ndarray, path: Path, ext: str, kind: str) -> None:
    t = table[REQUIRED[kind][0].upper()]
    if not np.all(np.isfinite(t)):
        raise InputFileError(path, f"{ext}.{REQUIRED[kind][0]}", "finite times", "NaN or infinite values")


def _check_size(path: Path, ext: str, offset: int, n: int, itemsize: int) -> None:
    if offset + n * itemsize > path.stat().st_size:
        raise InputFileError(
            path, ext, f"complete table data ({n} rows)", "the file ends before the table's last row"
        )


#: FITS binary-table formats read straight into numpy (no scaling or conversion by astropy)
_PLAIN_FORMATS = {"B": ">u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}


def _direct_dtype(hdu, kind: str, have: dict[str, str]) -> np.dtype | None:
    """The big-endian record dtype of a table whose rows are exactly the columns :func:`read_table`
    returns (required ones, then X, Y, Z if present, in that order), each a plain scalar number
    without scaling; None otherwise (read column by column through astropy)."""
    want = [c.upper() for c in REQUIRED[kind]] + [c for c in ("X", "Y", "Z") if c in have]
    cols = hdu.columns
    if [c.upper() for c in cols.names] != want:
        return None
    fields = []
    for c in cols:
        fmt = str(c.format).strip().upper()
        if fmt.startswith("1"):
            fmt = fmt[1:]
        if fmt not in _PLAIN_FORMATS or c.bscale not in (None, 1) or c.bzero not in (None, 0):
            return None
        fields.append((c.name.upper(), _PLAIN_FORMATS[fmt]))
    dt = np.dtype(fields)
    return dt if dt.itemsize == hdu.header.get("NAXIS1") else None


def _read_direct(path: Path, hdu, ext: str, dtype: np.dtype) -> np.ndarray:
    """The table's rows read from the file into one array, swapped to native byte order in place."""
    n = int(hdu.header.get("NAXIS2", 0))
    offset = int(hdu.fileinfo()["datLoc"])
    _check_size(path, ext, offset, n, dtype.itemsize)
    raw = np.fromfile(path, dtype=dtype, count=n, offset=offset)
    if raw.size != n:
        raise InputFileError(path, ext, f"complete table data ({n} rows)", f"{raw.size} rows read")
    native = dtype.newbyteorder("=")
    if native != dtype:
        raw.byteswap(inplace=True)
    return raw.view(native)


def _read_columns(path: Path, hdu, ext: str, kind: str, have: dict[str, str]) -> tuple[np.ndarray, int]:
    """The columns through astropy, copied into one native-order structured array; ``(table, rows)``."""
    try:
        data = hdu.data
        n = 0 if data is None else len(data)
        cols = {c.upper(): np.asarray(data[have[c.upper()]]) if n else np.zeros(0) for c in REQUIRED[kind]}
        for extra in ("X", "Y", "Z"):
            if extra in have:
                cols[extra] = np.asarray(data[have[extra]])
    except Exception as exc:
        raise InputFileError(path, ext, "complete table data", f"{type(exc).__name__}: {exc}") from None
    out = np.empty(n, dtype=[(k, v.dtype.newbyteorder("=")) for k, v in cols.items()])
    for k, v in cols.items():
        out[k] = v
    return out, n


def ehk_columns(ehk: np.ndarray) -> dict[str, np.ndarray]:
    """``{column: array}`` view of an EHK table (for GTI expressions)."""
    return {k: ehk[k] for k in ehk.dtype.names}


class Keywords:
    """Observation keywords carried as one data-store object (a plain dict would become a group)."""

    def __init__(self, data: dict | None = None, **kw: object):
        self.data = dict(data or {}, **kw)

    def get(self, key: str, default: object = None) -> object:
        return self.data.get(key, default)

    def __getitem__(self, key: str) -> object:
        return self.data[key]

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def items(self):
        return self.data.items()

    def __repr__(self) -> str:
        return f"Keywords({self.data!r})"
