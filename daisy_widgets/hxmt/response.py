"""Redistribution of the CALDB instrument model: where a photon of energy E lands on the PI scale.

Used by the pipeline's response (``rspgen``, :func:`.products.make_response`) and, event by event,
by the simulator (:func:`measured_energy`), so both follow the same CALDB files. Of the photons the
effective area counts, at energy ``E`` (keV):

* ``1 - ESCFRAC - TAILFRAC`` land in the photopeak, a Gaussian of the resolution's sigma;
* ``ESCFRAC`` land in the escape peak, ``ESCENER`` keV lower, with the resolution at that energy;
* ``TAILFRAC`` land anywhere between 0 and ``E`` with equal probability (partial absorption).

On top, the read-out of an energy into a raw channel and back to PI (``pical``: a random fraction
of a channel added twice) widens every peak by a uniform of one raw channel in PI units, twice;
the matrix adds its variance, ``2 x slope^2 / 12`` (keV^2), to the Gaussian's.
"""

from __future__ import annotations

import numpy as np

from .caldb import Calibration
from .mission import spec


def redistribution(cal: Calibration, energy: np.ndarray, n_sigma: float = 6.0) -> np.ndarray:
    """Probability (n_e, n_pi) that a counted photon of ``energy`` (keV, shape (n_e,)) lands in each
    PI channel; rows sum to at most 1 (what lands outside the PI range is lost)."""
    from scipy.special import ndtr

    s = spec(cal.instrument)
    e = np.asarray(energy, float)
    ce = s.energy(np.arange(s.n_pi + 1))  # channel edges (keV)
    gain = float(np.mean(cal.gain_c1))  # PI per raw channel
    extra = 2.0 * (s.slope * gain) ** 2 / 12.0

    def gauss(centre: np.ndarray, at: np.ndarray) -> np.ndarray:
        sig = np.sqrt(cal.sigma(at) ** 2 + extra)
        red = np.diff(ndtr((ce[None, :] - centre[:, None]) / sig[:, None]), axis=1)
        red[red < 10 ** -(n_sigma + 1)] = 0.0
        return red

    esc = cal.escape_at(e)
    tail = cal.tail_at(e)
    out = (1.0 - esc - tail)[:, None] * gauss(e, e)
    if cal.escape_energy > 0 and np.any(esc > 0):
        ee = np.maximum(e - cal.escape_energy, 1e-3)
        out += esc[:, None] * gauss(ee, ee)
    # flat from 0 to E: the overlap of each channel with [0, E], over E
    overlap = np.clip(np.minimum(ce[None, 1:], e[:, None]) - ce[None, :-1], 0.0, None)
    out += tail[:, None] * overlap / e[:, None]
    return out


def measured_energy(cal: Calibration, energy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Energies (keV) the detector records for counted photons of ``energy`` (keV): photopeak,
    escape peak or partial absorption as in :func:`redistribution` (before the read-out into channels)."""
    e = np.asarray(energy, float)
    u = rng.random(e.size)
    esc = cal.escape_at(e) if cal.escape_energy > 0 else np.zeros_like(e)
    tail = cal.tail_at(e)
    out = e.copy()
    is_esc = u < esc
    out[is_esc] = e[is_esc] - cal.escape_energy
    is_tail = (u >= esc) & (u < esc + tail)
    out[is_tail] = e[is_tail] * rng.random(int(is_tail.sum()))
    peak = ~is_tail
    out[peak] = out[peak] + rng.normal(0.0, 1.0, int(peak.sum())) * cal.sigma(out[peak])
    return out


__all__ = ["measured_energy", "redistribution"]
