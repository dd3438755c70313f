"""Reading OGIP spectral files written by any software (HXMTDAS, this pipeline, XSPEC tools).

* PHA type I spectra and backgrounds (OGIP/92-007): ``SPECTRUM`` extension (``HDUCLAS1 = SPECTRUM``)
  with ``CHANNEL`` and ``COUNTS``, or ``RATE`` (count/s, then with ``STAT_ERR``); optional
  ``QUALITY``, ``GROUPING``, ``STAT_ERR``, ``BACKSCAL``/``AREASCAL`` columns or keywords;
  ``BACKFILE``, ``RESPFILE``, ``ANCRFILE`` (``NONE`` or absent: none).
* Responses (CAL/GEN/92-002): ``MATRIX`` or ``SPECRESP MATRIX`` with ``ENERG_LO, ENERG_HI, N_GRP,
  F_CHAN, N_CHAN, MATRIX`` (fixed or variable-length), the first channel from ``TLMIN`` of
  ``F_CHAN`` (else ``EBOUNDS``' first ``CHANNEL``, else 1), and ``EBOUNDS`` (``CHANNEL, E_MIN, E_MAX``);
  ancillary responses ``SPECRESP`` (``ENERG_LO, ENERG_HI, SPECRESP``).

Every refusal is an :class:`OGIPError` that names the file, the extension or column, and what was
expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import DaisyError


class OGIPError(DaisyError, ValueError):
    """A file that is not the OGIP product expected, or products that do not go together."""


def _open(path: Path, what: str):
    from astropy.io import fits

    if not path.is_file():
        raise OGIPError(f"{path}: no such {what} file")
    try:
        return fits.open(path, memmap=False)
    except (OSError, ValueError) as exc:
        raise OGIPError(f"{path}: not a FITS file ({exc})") from None


def _find_hdu(hl, path: Path, names: tuple[str, ...], hduclas: tuple[str, str] | None, what: str):
    for h in hl[1:]:
        if h.name.upper() in names:
            return h
    if hduclas is not None:
        key, val = hduclas
        for h in hl[1:]:
            if str(h.header.get(key, "")).upper() == val:
                return h
    raise OGIPError(
        f"{path}: no {' or '.join(names)} extension (an OGIP {what}); "
        f"extensions found: {', '.join(h.name or '?' for h in hl[1:]) or 'none'}"
    )


def _column(h, path: Path, name: str, what: str = "") -> np.ndarray:
    names = [c.upper() for c in h.columns.names]
    if name not in names:
        raise OGIPError(
            f"{path}[{h.name}]: no {name} column{what}; columns found: {', '.join(h.columns.names)}"
        )
    return h.data[h.columns.names[names.index(name)]]


def _has(h, name: str) -> bool:
    return name in [c.upper() for c in h.columns.names]


def _file_keyword(h, key: str) -> str | None:
    v = str(h.header.get(key, "NONE")).strip()
    return None if v.upper() in ("NONE", "") else v


@dataclass
class PHASpectrum:
    """A PHA type I spectrum or background.

    Attributes
    ----------
    path
        The file.
    channel
        Channel numbers, shape (n,).
    counts
        Counts per channel, shape (n,) (``RATE * EXPOSURE`` for rate files).
    stat_err
        1-sigma errors in counts (``STAT_ERR``, times ``EXPOSURE`` for rate files), or None (Poisson).
    exposure
        Exposure (s).
    backscal, areascal
        Scalars or arrays (n,).
    quality
        OGIP QUALITY per channel (0 good), shape (n,).
    grouping
        OGIP GROUPING (+1 starts a group, -1 continues) or None.
    backfile, respfile, ancrfile
        Referenced files, or None for ``NONE``/absent.
    is_rate
        True when the file gave ``RATE``.
    """

    path: Path
    channel: np.ndarray
    counts: np.ndarray
    stat_err: np.ndarray | None
    exposure: float
    backscal: np.ndarray | float
    areascal: np.ndarray | float
    quality: np.ndarray
    grouping: np.ndarray | None
    backfile: str | None
    respfile: str | None
    ancrfile: str | None
    is_rate: bool
    instrument: str = ""

    @property
    def n_channels(self) -> int:
        return int(self.channel.size)


def _scale(h, path: Path, name: str) -> np.ndarray | float:
    if _has(h, name):
        return np.asarray(_column(h, path, name), float)
    return float(h.header.get(name, 1.0))


def read_pha(path: str | Path) -> PHASpectrum:
    """Read a PHA type I file (spectrum or background); :class:`OGIPError` says what is wrong."""
    p = Path(path)
    with _open(p, "spectrum") as hl:
        h = _find_hdu(hl, p, ("SPECTRUM",), ("HDUCLAS1", "SPECTRUM"), "spectrum (PHA, OGIP/92-007)")
        if h.data is None or len(h.data) == 0:
            raise OGIPError(f"{p}[{h.name}]: the spectrum table has no rows")
        chan = np.asarray(_column(h, p, "CHANNEL"))
        if chan.ndim != 1:
            raise OGIPError(
                f"{p}[{h.name}]: PHA type II (one spectrum per row) is not read; give a type I file"
            )
        expo = h.header.get("EXPOSURE")
        if expo is None or not float(expo) > 0:
            raise OGIPError(f"{p}[{h.name}]: EXPOSURE keyword missing or not > 0 (got {expo!r})")
        expo = float(expo)
        if _has(h, "COUNTS"):
            counts, is_rate = np.asarray(_column(h, p, "COUNTS"), float), False
        elif _has(h, "RATE"):
            counts, is_rate = np.asarray(_column(h, p, "RATE"), float) * expo, True
        else:
            raise OGIPError(
                f"{p}[{h.name}]: neither a COUNTS nor a RATE column; columns found: {', '.join(h.columns.names)}"
            )
        stat_err = None
        if _has(h, "STAT_ERR"):
            stat_err = np.asarray(_column(h, p, "STAT_ERR"), float) * (expo if is_rate else 1.0)
        elif is_rate and not h.header.get("POISSERR", False):
            raise OGIPError(f"{p}[{h.name}]: a RATE spectrum needs a STAT_ERR column (or POISSERR = T)")
        quality = (
            np.asarray(_column(h, p, "QUALITY"), int)
            if _has(h, "QUALITY")
            else np.full(chan.size, int(h.header.get("QUALITY", 0)))
        )
        grouping = np.asarray(_column(h, p, "GROUPING"), int) if _has(h, "GROUPING") else None
        return PHASpectrum(
            p,
            chan.astype(int),
            counts,
            stat_err,
            expo,
            _scale(h, p, "BACKSCAL"),
            _scale(h, p, "AREASCAL"),
            quality,
            grouping,
            _file_keyword(h, "BACKFILE"),
            _file_keyword(h, "RESPFILE"),
            _file_keyword(h, "ANCRFILE"),
            is_rate,
            str(h.header.get("INSTRUME", "")),
        )


@dataclass
class Response:
    """A redistribution matrix read from an RMF (or RSP): dense (n_energy, n_channels).

    Attributes
    ----------
    energ_lo, energ_hi
        Photon energy bins (keV), shape (n_energy,).
    matrix
        Probability (RMF) or cm2 (RSP, area folded in) per channel, shape (n_energy, n_channels).
    channel, e_min, e_max
        ``EBOUNDS``: channel numbers and nominal energy bounds (keV), shape (n_channels,).
    """

    path: Path
    energ_lo: np.ndarray
    energ_hi: np.ndarray
    matrix: np.ndarray
    channel: np.ndarray
    e_min: np.ndarray
    e_max: np.ndarray

    @property
    def n_channels(self) -> int:
        return int(self.matrix.shape[1])


def _rows(col, n: int) -> list[np.ndarray]:
    """A column as a list of 1-D arrays, one per row (fixed, scalar or variable-length)."""
    arr = col if isinstance(col, np.ndarray) and col.dtype != object else None
    if arr is not None:
        arr = np.asarray(arr)
        return [np.atleast_1d(arr[i]) for i in range(n)]
    return [np.atleast_1d(np.asarray(col[i])) for i in range(n)]


def read_rmf(path: str | Path) -> Response:
    """Read an RMF/RSP with fixed or variable-length ``N_GRP/F_CHAN/N_CHAN/MATRIX`` columns."""
    p = Path(path)
    with _open(p, "response") as hl:
        eb = _find_hdu(hl, p, ("EBOUNDS",), ("HDUCLAS2", "EBOUNDS"), "response (EBOUNDS)")
        e_min = np.asarray(_column(eb, p, "E_MIN"), float)
        e_max = np.asarray(_column(eb, p, "E_MAX"), float)
        ch = np.asarray(_column(eb, p, "CHANNEL"), int) if _has(eb, "CHANNEL") else None
        m = _find_hdu(
            hl, p, ("MATRIX", "SPECRESP MATRIX"), ("HDUCLAS2", "RSP_MATRIX"), "response matrix (RMF)"
        )
        n_ch = int(m.header.get("DETCHANS", e_min.size))
        if n_ch != e_min.size:
            raise OGIPError(f"{p}: DETCHANS = {n_ch} in {m.name} but EBOUNDS has {e_min.size} channels")
        lo = np.asarray(_column(m, p, "ENERG_LO"), float)
        hi = np.asarray(_column(m, p, "ENERG_HI"), float)
        n_e = lo.size
        names = [c.upper() for c in m.columns.names]
        for c in ("N_GRP", "F_CHAN", "N_CHAN", "MATRIX"):
            _column(m, p, c)
        idx = names.index("F_CHAN") + 1
        if f"TLMIN{idx}" in m.header:
            first = int(m.header[f"TLMIN{idx}"])
        elif ch is not None and ch.size:
            first = int(ch[0])
        else:
            first = 1
        ngrp = np.asarray(m.data["N_GRP"]).astype(int).reshape(n_e)
        fch = _rows(m.data["F_CHAN"], n_e)
        nch = _rows(m.data["N_CHAN"], n_e)
        vals = _rows(m.data["MATRIX"], n_e)
        matrix = np.zeros((n_e, n_ch))
        for i in range(n_e):
            pos = 0
            for g in range(ngrp[i]):
                a, n = int(fch[i][g]) - first, int(nch[i][g])
                if a < 0 or a + n > n_ch:
                    raise OGIPError(
                        f"{p}[{m.name}]: row {i + 1} group {g + 1} covers channels {a + first}..{a + first + n - 1}, "
                        f"outside {first}..{first + n_ch - 1} (TLMIN of F_CHAN = {first})"
                    )
                matrix[i, a : a + n] = vals[i][pos : pos + n]
                pos += n
    channel = ch if ch is not None else np.arange(first, first + n_ch)
    return Response(p, lo, hi, matrix, channel, e_min, e_max)


@dataclass
class ARF:
    """An ancillary response: effective area (cm2) per energy bin, shape (n_energy,)."""

    path: Path
    energ_lo: np.ndarray
    energ_hi: np.ndarray
    specresp: np.ndarray


def read_arf(path: str | Path) -> ARF:
    """Read an ARF (``SPECRESP``: ENERG_LO, ENERG_HI, SPECRESP)."""
    p = Path(path)
    with _open(p, "ancillary response") as hl:
        h = _find_hdu(hl, p, ("SPECRESP",), ("HDUCLAS2", "SPECRESP"), "ancillary response (ARF)")
        return ARF(
            p,
            np.asarray(_column(h, p, "ENERG_LO"), float),
            np.asarray(_column(h, p, "ENERG_HI"), float),
            np.asarray(_column(h, p, "SPECRESP"), float),
        )
