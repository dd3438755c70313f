"""Science products (``lcgen``, ``specgen``, ``rspgen``, ``bkgmap``) and their OGIP FITS files.

* light curves: OGIP ``RATE`` extension (``TIME, RATE, ERROR, FRACEXP, COUNTS``) plus ``GTI``,
  dead-time corrected: ``RATE = COUNTS / (TIMEDEL * FRACEXP * LIVE)`` where ``LIVE`` is
  ``1 - N_recorded * TAU / (N_det * good time in the bin)`` (non-paralysable dead time);
* spectra: OGIP PHA type I (``CHANNEL, COUNTS``) with ``EXPOSURE`` = live time,
  ``BACKSCAL`` = number of detectors, ``BACKFILE``, ``RESPFILE``;
* response: OGIP RMF (``MATRIX`` with the effective area folded in, and ``EBOUNDS``), ``.rsp``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_path
from .caldb import load_calibration
from .gti import gti_mask, total
from .mission import spec, time_keywords


@dataclass
class LightCurve:
    """An evenly binned light curve; bins with no good time are dropped.

    Attributes
    ----------
    time
        Bin centres (s), shape (n,).
    counts, rate, error, fracexp, live
        Counts, dead-time corrected rate (count/s) and its 1-sigma error, fraction of the bin in
        the GTI, live fraction; shape (n,).
    dt
        Bin size (s).
    gti
        Good time intervals (m, 2).
    """

    time: np.ndarray
    counts: np.ndarray
    rate: np.ndarray
    error: np.ndarray
    fracexp: np.ndarray
    live: np.ndarray
    dt: float
    gti: np.ndarray
    instrument: str
    kind: str = "TOTAL"


@dataclass
class Spectrum:
    """A PHA spectrum: counts per PI channel (n_pi,), live exposure (s), BACKSCAL (detectors)."""

    counts: np.ndarray
    exposure: float
    backscal: float
    instrument: str
    kind: str = "TOTAL"
    gti: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))


@dataclass
class Response:
    """A response matrix (n_energy, n_pi) in cm2 per channel, with its energy grid and channel bounds (keV)."""

    energ_lo: np.ndarray
    energ_hi: np.ndarray
    matrix: np.ndarray
    e_min: np.ndarray
    e_max: np.ndarray
    instrument: str
    n_detectors: int

    def fold(self, photon_flux: np.ndarray) -> np.ndarray:
        """Counts/s per channel for photons/cm2/s in each energy bin (n_energy,)."""
        return photon_flux @ self.matrix


def live_fraction(
    raw_times: np.ndarray, edges: np.ndarray, good: np.ndarray, n_det: int, tau: float
) -> np.ndarray:
    """Live fraction per bin: ``1 - N_recorded * tau / (n_det * good seconds)``; ``edges`` evenly spaced."""
    n_raw = fast_lightcurve_counts(raw_times, edges[0], edges[1] - edges[0], len(edges) - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dead = np.where(good > 0, n_raw * tau / (n_det * good), 0.0)
    return np.clip(1.0 - dead, 1e-6, 1.0)


def bin_edges(gti: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges aligned on the first GTI start, and the good seconds in each bin."""
    t0, t1 = float(gti[0, 0]), float(gti[-1, 1])
    nb = max(int(np.ceil((t1 - t0) / dt - 1e-9)), 1)
    edges = t0 + dt * np.arange(nb + 1)
    # good time per bin: integrate the GTI indicator exactly
    cum = np.concatenate([[0.0], np.cumsum(gti[:, 1] - gti[:, 0])])

    def good_until(x):
        i = np.searchsorted(gti[:, 0], x, side="right") - 1
        ic = np.clip(i, 0, len(gti) - 1)
        inside = np.clip(x - gti[ic, 0], 0, gti[ic, 1] - gti[ic, 0])
        return np.where(i >= 0, cum[ic] + inside, 0.0)

    good = np.diff(good_until(edges))
    return edges, good


def make_lightcurve(
    times: np.ndarray,
    raw_times: np.ndarray,
    gti: np.ndarray,
    dt: float,
    instrument: str,
    n_det: int,
    scale: float = 1.0,
    kind: str = "TOTAL",
) -> LightCurve:
    """Dead-time corrected light curve of event ``times`` (s) over ``gti`` with bins of ``dt`` s.

    ``raw_times`` are all recorded events on the same ``n_det`` detectors (for the dead time);
    ``scale`` multiplies rates (e.g. blind-to-open detector ratio for background).
    """
    gti = np.asarray(gti, float).reshape(-1, 2)
    if dt <= 0:
        raise ValueError(f"bin size must be > 0 s; got {dt}")
    edges, good = bin_edges(gti, dt)
    tau = load_calibration(instrument).tau
    counts = fast_lightcurve_counts(times, edges[0], dt, len(edges) - 1).astype(np.int64)
    live = live_fraction(raw_times, edges, good, n_det, tau)
    keep = good > 1e-9
    expo = good[keep] * live[keep]
    c = counts[keep]
    rate = scale * c / expo
    err = scale * np.sqrt(np.maximum(c, 1)) / expo
    return LightCurve(
        0.5 * (edges[:-1] + edges[1:])[keep],
        c,
        rate,
        err,
        good[keep] / dt,
        live[keep],
        dt,
        gti,
        instrument,
        kind,
    )


def fast_lightcurve_counts(times: np.ndarray, t0: float, dt: float, nbins: int) -> np.ndarray:
    """Counts in ``nbins`` bins of ``dt`` starting at ``t0`` (bincount; events outside are dropped)."""
    idx = np.floor((np.asarray(times) - t0) / dt).astype(np.int64)
    ok = (idx >= 0) & (idx < nbins)
    return np.bincount(idx[ok], minlength=nbins)


def make_spectrum(
    pi: np.ndarray, raw_times: np.ndarray, gti: np.ndarray, instrument: str, n_det: int, kind: str = "TOTAL"
) -> Spectrum:
    """PHA spectrum of PI values; exposure = good time x live fraction of the ``n_det`` detectors."""
    s = spec(instrument)
    tau = load_calibration(instrument).tau
    gti = np.asarray(gti, float).reshape(-1, 2)
    t_good = total(gti)
    live = 1.0 - len(raw_times) * tau / (n_det * t_good) if t_good > 0 else 0.0
    counts = np.bincount(np.asarray(pi, np.int64), minlength=s.n_pi)[: s.n_pi]
    return Spectrum(counts.astype(np.int64), t_good * live, float(n_det), s.name, kind, gti)


def make_response(instrument: str, n_detectors: int | None = None, n_sigma: float = 6.0) -> Response:
    """Response matrix from the CALDB: area(E) x Gaussian(E, sigma(E)) integrated over PI channels.

    The area is that of all open detectors times ``n_detectors / n_open``.
    """
    s = spec(instrument)
    cal = load_calibration(instrument)
    n_open = cal.open_detectors.size
    n_det = n_open if n_detectors is None else int(n_detectors)
    lo, hi = cal.arf_lo, cal.arf_hi
    mid = 0.5 * (lo + hi)
    ch = np.arange(s.n_pi + 1)
    ce = s.energy(ch)  # channel edges (keV)
    sig = cal.sigma(mid)
    from scipy.special import ndtr

    z = (ce[None, :] - mid[:, None]) / sig[:, None]
    cdf = ndtr(z)
    red = np.diff(cdf, axis=1)  # (n_e, n_pi)
    red[red < 1e-7] = 0.0
    matrix = (cal.area * n_det / n_open)[:, None] * red
    return Response(lo, hi, matrix.astype(np.float32), ce[:-1], ce[1:], s.name, n_det)


# -- FITS ------------------------------------------------------------------------------------
def _base_header(instrument: str, meta: dict | None) -> dict[str, object]:
    h: dict[str, object] = {"TELESCOP": "HXMT", "INSTRUME": instrument, "FILTER": "NONE"}
    for k, v in (meta or {}).items():
        if k in (
            "OBJECT",
            "RA_OBJ",
            "DEC_OBJ",
            "OBS_ID",
            "EXP_ID",
            "DATE-OBS",
            "DATE-END",
            "EQUINOX",
            "RADECSYS",
            "DATA_VER",
        ):
            h[k] = v
    h.update(time_keywords())
    return h


def gti_hdu(gti: np.ndarray, header: dict):
    from astropy.io import fits

    gti = np.asarray(gti, float).reshape(-1, 2)
    h = fits.BinTableHDU.from_columns(
        [
            fits.Column("START", "D", array=gti[:, 0], unit="s"),
            fits.Column("STOP", "D", array=gti[:, 1], unit="s"),
        ],
        name="GTI",
    )
    h.header.update(header)
    h.header.update({"HDUCLASS": "OGIP", "HDUCLAS1": "GTI", "HDUCLAS2": "STANDARD"})
    if gti.size:
        h.header.update({"TSTART": float(gti[0, 0]), "TSTOP": float(gti[-1, 1])})
    return h


def events_hdulist(
    events: np.ndarray, gti: np.ndarray, instrument: str, meta: dict | None = None, timeref: str = "LOCAL"
):
    """Screened events (``EVENTS``: TIME, PI, DET_ID, ...) and ``GTI``."""
    from astropy.io import fits

    fmt = {"f": "D", "i": "J", "u": "J", "b": "L"}
    cols = [
        fits.Column("TIME", "D", array=events["TIME"], unit="s"),
        fits.Column("PI", "J", array=events["PI"].astype(np.int32), unit="chan"),
    ]
    for name in events.dtype.names:
        if name in ("TIME", "PI"):
            continue
        kind = events.dtype[name].kind
        cols.append(
            fits.Column(
                name,
                fmt.get(kind, "D"),
                array=events[name].astype(np.int32) if kind in "iu" else events[name],
            )
        )
    s = spec(instrument)
    hdr = _base_header(instrument, meta)
    gti = np.asarray(gti, float).reshape(-1, 2)
    if gti.size:
        hdr.update({"TSTART": float(gti[0, 0]), "TSTOP": float(gti[-1, 1])})
    if timeref != "LOCAL":
        hdr.update({"TIMEREF": timeref, "TIMESYS": "TDB", "TASSIGN": "SATELLITE"})
    hdr.update({"ONTIME": total(gti), "LIVETIME": total(gti), "EXPOSURE": total(gti)})
    prim = fits.PrimaryHDU()
    prim.header.update(hdr)
    ev = fits.BinTableHDU.from_columns(cols, name="EVENTS")
    ev.header.update(hdr)
    ev.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "EVENTS",
            "TLMIN2": 0,
            "TLMAX2": s.n_pi - 1,
            "PI_E0": (s.e0, "[keV] E = PI_E0 + PI_SLOPE * PI"),
            "PI_SLOPE": (s.slope, "[keV/chan]"),
        }
    )
    return fits.HDUList([prim, ev, gti_hdu(gti, hdr)])


def lightcurve_hdulist(lc: LightCurve, meta: dict | None = None, pi_range: tuple[int, int] | None = None):
    """OGIP RATE file: ``RATE`` (TIME, RATE, ERROR, FRACEXP, COUNTS, LIVETIME) and ``GTI``."""
    from astropy.io import fits

    hdr = _base_header(lc.instrument, meta)
    gti = lc.gti
    hdr.update({"TSTART": float(gti[0, 0]), "TSTOP": float(gti[-1, 1])})
    cols = [
        fits.Column("TIME", "D", array=lc.time, unit="s"),
        fits.Column("RATE", "D", array=lc.rate, unit="count/s"),
        fits.Column("ERROR", "D", array=lc.error, unit="count/s"),
        fits.Column("FRACEXP", "D", array=lc.fracexp),
        fits.Column("COUNTS", "J", array=lc.counts.astype(np.int32), unit="count"),
        fits.Column("LIVETIME", "D", array=lc.live),
    ]
    h = fits.BinTableHDU.from_columns(cols, name="RATE")
    h.header.update(hdr)
    h.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "LIGHTCURVE",
            "HDUCLAS2": lc.kind,
            "HDUCLAS3": "RATE",
            "HDUVERS": "1.1.0",
            "TIMEDEL": lc.dt,
            "TIMEPIXR": 0.5,
            "DEADAPP": True,
            "VIGNAPP": False,
        }
    )
    if pi_range is not None:
        h.header.update({"PI_MIN": pi_range[0], "PI_MAX": pi_range[1]})
    prim = fits.PrimaryHDU()
    prim.header.update(hdr)
    return fits.HDUList([prim, h, gti_hdu(gti, hdr)])


def spectrum_hdulist(
    sp: Spectrum,
    meta: dict | None = None,
    backfile: str = "NONE",
    respfile: str = "NONE",
    ancrfile: str = "NONE",
):
    """OGIP PHA type I spectrum (``SPECTRUM``: CHANNEL, COUNTS) with the mandatory keywords."""
    from astropy.io import fits

    s = spec(sp.instrument)
    hdr = _base_header(sp.instrument, meta)
    if np.asarray(sp.gti).size:
        hdr.update({"TSTART": float(sp.gti[0, 0]), "TSTOP": float(sp.gti[-1, 1])})
    h = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "J", array=np.arange(s.n_pi, dtype=np.int32)),
            fits.Column("COUNTS", "J", array=sp.counts.astype(np.int32), unit="count"),
        ],
        name="SPECTRUM",
    )
    h.header.update(hdr)
    h.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "SPECTRUM",
            "HDUVERS": "1.2.1",
            "HDUCLAS2": sp.kind,
            "HDUCLAS3": "COUNT",
            "HDUCLAS4": "TYPE:I",
            "TLMIN1": 0,
            "TLMAX1": s.n_pi - 1,
            "EXPOSURE": (sp.exposure, "[s] dead-time corrected"),
            "AREASCAL": 1.0,
            "BACKSCAL": (sp.backscal, "number of detectors"),
            "CORRSCAL": 0.0,
            "BACKFILE": backfile,
            "CORRFILE": "NONE",
            "RESPFILE": respfile,
            "ANCRFILE": ancrfile,
            "CHANTYPE": "PI",
            "DETCHANS": s.n_pi,
            "POISSERR": True,
            "SYS_ERR": 0.0,
            "GROUPING": 0,
            "QUALITY": 0,
        }
    )
    prim = fits.PrimaryHDU()
    prim.header.update(hdr)
    return fits.HDUList([prim, h, gti_hdu(sp.gti, hdr)])


def response_hdulist(rsp: Response, meta: dict | None = None):
    """OGIP RMF with the area folded in (``MATRIX``: ENERG_LO, ENERG_HI, N_GRP, F_CHAN, N_CHAN, MATRIX; ``EBOUNDS``)."""
    from astropy.io import fits

    n_e, n_ch = rsp.matrix.shape
    hdr = _base_header(rsp.instrument, meta)
    hdr = {k: v for k, v in hdr.items() if k not in time_keywords()}
    m = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERG_LO", "E", array=rsp.energ_lo, unit="keV"),
            fits.Column("ENERG_HI", "E", array=rsp.energ_hi, unit="keV"),
            fits.Column("N_GRP", "I", array=np.ones(n_e, np.int16)),
            fits.Column("F_CHAN", "I", array=np.zeros(n_e, np.int16)),
            fits.Column("N_CHAN", "I", array=np.full(n_e, n_ch, np.int16)),
            fits.Column("MATRIX", f"{n_ch}E", array=rsp.matrix, unit="cm**2"),
        ],
        name="MATRIX",
    )
    m.header.update(hdr)
    m.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "RESPONSE",
            "HDUCLAS2": "RSP_MATRIX",
            "HDUCLAS3": "FULL",
            "HDUVERS": "1.3.0",
            "CHANTYPE": "PI",
            "DETCHANS": n_ch,
            "LO_THRES": 1e-7,
            "TLMIN4": 0,
            "TLMAX4": n_ch - 1,
            "NUMGRP": n_e,
            "NUMELT": n_e * n_ch,
            "NDETS": rsp.n_detectors,
        }
    )
    eb = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "J", array=np.arange(n_ch, dtype=np.int32)),
            fits.Column("E_MIN", "E", array=rsp.e_min, unit="keV"),
            fits.Column("E_MAX", "E", array=rsp.e_max, unit="keV"),
        ],
        name="EBOUNDS",
    )
    eb.header.update(hdr)
    eb.header.update(
        {
            "HDUCLASS": "OGIP",
            "HDUCLAS1": "RESPONSE",
            "HDUCLAS2": "EBOUNDS",
            "HDUVERS": "1.2.0",
            "CHANTYPE": "PI",
            "DETCHANS": n_ch,
            "TLMIN1": 0,
            "TLMAX1": n_ch - 1,
        }
    )
    prim = fits.PrimaryHDU()
    prim.header.update(hdr)
    return fits.HDUList([prim, m, eb])


def profile_hdulist(
    phase: np.ndarray,
    counts: np.ndarray,
    frequency: float,
    epoch: float,
    instrument: str,
    meta: dict | None = None,
    z2: float | None = None,
):
    """Pulse profile (``PROFILE``: PHASE, COUNTS, ERROR) folded at ``frequency`` from ``epoch`` (TDB mission s)."""
    from astropy.io import fits

    hdr = _base_header(instrument, meta)
    h = fits.BinTableHDU.from_columns(
        [
            fits.Column("PHASE", "D", array=phase),
            fits.Column("COUNTS", "D", array=counts),
            fits.Column("ERROR", "D", array=np.sqrt(counts)),
        ],
        name="PROFILE",
    )
    h.header.update(hdr)
    h.header.update(
        {
            "FREQ": (frequency, "[Hz]"),
            "EPOCH": (epoch, "[s] phase 0, TDB mission time"),
            "TIMEREF": "SOLARSYSTEM",
            "TIMESYS": "TDB",
        }
    )
    if z2 is not None:
        h.header["Z2"] = (z2, "Z^2_2 at FREQ")
    prim = fits.PrimaryHDU()
    prim.header.update(hdr)
    return fits.HDUList([prim, h])


def write_hdulists(out_dir: str | Path, products: dict[str, object]) -> dict[str, Path]:
    """Write ``{file name: HDUList}`` into ``out_dir``, each atomically; returns the paths.

    All HDU lists are built before this is called, so a failure in a processing step
    leaves the previous products untouched.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, hl in products.items():
        with atomic_path(out / name) as tmp:
            hl.writeto(tmp, overwrite=True, checksum=True)
            os.chmod(tmp, 0o644)
        written[name] = out / name
    return written


def used_detectors(instrument: str, detectors: Sequence[int] | None) -> int:
    from .screen import select_detectors

    return int(select_detectors(instrument, detectors).size)


__all__ = [
    "LightCurve",
    "Spectrum",
    "Response",
    "make_lightcurve",
    "make_spectrum",
    "make_response",
    "gti_mask",
]
