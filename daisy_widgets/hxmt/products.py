"""Science products (``lcgen``, ``specgen``, ``rspgen``, ``bkgmap``) as objects in memory.

Their OGIP FITS files are written by :mod:`.product_files`.

* light curves: OGIP ``RATE`` extension (``TIME, RATE, ERROR, FRACEXP, COUNTS``) plus ``GTI``,
  dead-time corrected: ``RATE = COUNTS / (TIMEDEL * FRACEXP * LIVE)`` where ``LIVE`` is
  ``1 - N_recorded * TAU / (N_det * good time in the bin)`` (non-paralysable dead time);
* spectra: OGIP PHA type I (``CHANNEL, COUNTS``) with ``EXPOSURE`` = live time,
  ``BACKSCAL`` = number of detectors, ``BACKFILE``, ``RESPFILE``;
* response: OGIP RMF (``MATRIX`` with the effective area folded in, and ``EBOUNDS``), ``.rsp``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .caldb import load_calibration
from .event_kernels import bin_counts, channel_histogram
from .gti import gti_mask, total
from .mission import spec


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
    """Counts in ``nbins`` bins of ``dt`` starting at ``t0`` (events outside are dropped), int64 (nbins,)."""
    return bin_counts(times, t0, dt, nbins)


def make_spectrum(
    pi: np.ndarray, raw_times: np.ndarray, gti: np.ndarray, instrument: str, n_det: int, kind: str = "TOTAL"
) -> Spectrum:
    """PHA spectrum of PI values; exposure = good time x live fraction of the ``n_det`` detectors."""
    s = spec(instrument)
    tau = load_calibration(instrument).tau
    gti = np.asarray(gti, float).reshape(-1, 2)
    t_good = total(gti)
    live = 1.0 - len(raw_times) * tau / (n_det * t_good) if t_good > 0 else 0.0
    counts = channel_histogram(pi, s.n_pi)
    return Spectrum(counts, t_good * live, float(n_det), s.name, kind, gti)


def make_response(instrument: str, n_detectors: int | None = None, n_sigma: float = 6.0) -> Response:
    """Response matrix from the CALDB: area(E) x redistribution (:mod:`.response`) over PI channels.

    The area is that of all open detectors times ``n_detectors / n_open``.
    """
    from .response import redistribution

    s = spec(instrument)
    cal = load_calibration(instrument)
    n_open = cal.open_detectors.size
    n_det = n_open if n_detectors is None else int(n_detectors)
    lo, hi = cal.arf_lo, cal.arf_hi
    red = redistribution(cal, 0.5 * (lo + hi), n_sigma)  # (n_e, n_pi)
    matrix = (cal.area * n_det / n_open)[:, None] * red
    ce = s.energy(np.arange(s.n_pi + 1))
    return Response(lo, hi, matrix.astype(np.float32), ce[:-1], ce[1:], s.name, n_det)


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
