"""Products written the way HXMTDAS and other OGIP software write them, made from the pipeline's
files: keywords ``NONE``, backgrounds as ``RATE`` with ``STAT_ERR``, an RMF + ARF pair, and responses
with variable-length ``N_GRP/F_CHAN/N_CHAN/MATRIX`` columns and ``TLMIN`` 1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits


def with_none_keywords(spectrum: Path, out: Path) -> Path:
    """The spectrum with ``BACKFILE``, ``RESPFILE``, ``ANCRFILE`` = ``NONE`` (as HXMTDAS writes them)."""
    with fits.open(spectrum) as hl:
        for k in ("BACKFILE", "RESPFILE", "ANCRFILE"):
            hl["SPECTRUM"].header[k] = "NONE"
        hl.writeto(out, overwrite=True)
    return out


def rate_background(background: Path, out: Path) -> Path:
    """The background as ``RATE`` (count/s) with ``STAT_ERR`` (count/s), no ``COUNTS`` (hebkgmap style)."""
    with fits.open(background) as hl:
        h = hl["SPECTRUM"]
        expo = float(h.header["EXPOSURE"])
        c = np.asarray(h.data["COUNTS"], float)
        cols = [
            fits.Column("CHANNEL", "J", array=h.data["CHANNEL"]),
            fits.Column("RATE", "E", array=c / expo, unit="count/s"),
            fits.Column("STAT_ERR", "E", array=np.sqrt(np.maximum(c, 1.0)) / expo, unit="count/s"),
            fits.Column("QUALITY", "I", array=h.data["QUALITY"]),
        ]
        t = fits.BinTableHDU.from_columns(cols, name="SPECTRUM")
        for k, v in h.header.items():
            if k not in t.header and not k.startswith(("TTYPE", "TFORM", "TUNIT", "NAXIS", "TFIELDS")):
                t.header[k] = v
        t.header.update({"HDUCLAS3": "RATE", "POISSERR": False, "BACKFILE": "NONE", "RESPFILE": "NONE"})
        fits.HDUList([hl[0].copy(), t]).writeto(out, overwrite=True)
    return out


def _vlen_matrix_hdu(lo, hi, matrix, first: int, name: str, hduclas3: str):
    rows_f, rows_n, rows_m, ngrp = [], [], [], []
    for row in matrix:
        nz = np.flatnonzero(row > 0)
        if nz.size == 0:
            ngrp.append(0)
            rows_f.append(np.zeros(0, np.int32))
            rows_n.append(np.zeros(0, np.int32))
            rows_m.append(np.zeros(0, np.float32))
            continue
        breaks = np.flatnonzero(np.diff(nz) > 1)
        starts = np.concatenate([[nz[0]], nz[breaks + 1]])
        ends = np.concatenate([nz[breaks], [nz[-1]]])
        ngrp.append(starts.size)
        rows_f.append((starts + first).astype(np.int32))
        rows_n.append((ends - starts + 1).astype(np.int32))
        rows_m.append(
            np.concatenate([row[a : b + 1] for a, b in zip(starts, ends, strict=True)]).astype(np.float32)
        )
    cols = [
        fits.Column("ENERG_LO", "E", array=lo, unit="keV"),
        fits.Column("ENERG_HI", "E", array=hi, unit="keV"),
        fits.Column("N_GRP", "J", array=np.asarray(ngrp, np.int32)),
        fits.Column("F_CHAN", "PJ()", array=np.array(rows_f, dtype=object)),
        fits.Column("N_CHAN", "PJ()", array=np.array(rows_n, dtype=object)),
        fits.Column("MATRIX", "PE()", array=np.array(rows_m, dtype=object)),
    ]
    m = fits.BinTableHDU.from_columns(cols, name=name)
    m.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "RESPONSE",
            "HDUCLAS2": "RSP_MATRIX",
            "HDUCLAS3": hduclas3,
            "HDUVERS": "1.3.0",
            "CHANTYPE": "PI",
            "DETCHANS": matrix.shape[1],
            "TLMIN4": first,
            "TLMAX4": first + matrix.shape[1] - 1,
            "LO_THRES": 1e-7,
            "TELESCOP": "HXMT",
        }
    )
    return m


def _ebounds(hl, first: int):
    eb = hl["EBOUNDS"]
    n = len(eb.data)
    t = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "J", array=np.arange(first, first + n, dtype=np.int32)),
            fits.Column("E_MIN", "E", array=eb.data["E_MIN"], unit="keV"),
            fits.Column("E_MAX", "E", array=eb.data["E_MAX"], unit="keV"),
        ],
        name="EBOUNDS",
    )
    t.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "RESPONSE",
            "HDUCLAS2": "EBOUNDS",
            "CHANTYPE": "PI",
            "DETCHANS": n,
            "TLMIN1": first,
            "TLMAX1": first + n - 1,
            "TELESCOP": "HXMT",
        }
    )
    return t


def variable_length_response(rsp: Path, out: Path, first: int = 1) -> Path:
    """The response (area folded in) with variable-length columns, channels numbered from ``first``."""
    with fits.open(rsp) as hl:
        m = hl["MATRIX"].data
        mat = np.asarray(m["MATRIX"], float)
        hdu = _vlen_matrix_hdu(m["ENERG_LO"], m["ENERG_HI"], mat, first, "MATRIX", "FULL")
        fits.HDUList([fits.PrimaryHDU(), hdu, _ebounds(hl, first)]).writeto(out, overwrite=True)
    return out


def rmf_and_arf(rsp: Path, rmf_out: Path, arf_out: Path, first: int = 1) -> tuple[Path, Path]:
    """Split a response with the area folded in into an RMF (rows sum to 1; variable-length columns,
    ``SPECRESP MATRIX``) and an ARF (``SPECRESP``, cm2) whose product is the response."""
    with fits.open(rsp) as hl:
        m = hl["MATRIX"].data
        mat = np.asarray(m["MATRIX"], float)
        area = mat.sum(axis=1)
        prob = mat / np.where(area > 0, area, 1.0)[:, None]
        hdu = _vlen_matrix_hdu(m["ENERG_LO"], m["ENERG_HI"], prob, first, "SPECRESP MATRIX", "REDIST")
        fits.HDUList([fits.PrimaryHDU(), hdu, _ebounds(hl, first)]).writeto(rmf_out, overwrite=True)
        arf = fits.BinTableHDU.from_columns(
            [
                fits.Column("ENERG_LO", "E", array=m["ENERG_LO"], unit="keV"),
                fits.Column("ENERG_HI", "E", array=m["ENERG_HI"], unit="keV"),
                fits.Column("SPECRESP", "E", array=area, unit="cm**2"),
            ],
            name="SPECRESP",
        )
        arf.header.update(
            {"HDUCLASS": "OGIP", "HDUCLAS1": "RESPONSE", "HDUCLAS2": "SPECRESP", "TELESCOP": "HXMT"}
        )
        fits.HDUList([fits.PrimaryHDU(), arf]).writeto(arf_out, overwrite=True)
    return rmf_out, arf_out
