"""The simulated pulsar: its rotation, its pulse profile and the fraction of photons pulsed.

The Crab's pulsed fraction (pulsed photons over all the source's photons, nebula included) rises
with energy, the pulsar's spectrum being harder than the nebula's: :func:`crab_pulsed_fraction`
takes about 10 % at 2 keV, 15 % at 20 keV, 20 % at 50 keV and 25 % from 150 keV on (log-linear in
between). These are round figures of the known trend, not a fit to HXMT data. Which photons are
pulsed is drawn per photon energy, so the source spectrum stays the configured one.
"""

from __future__ import annotations

import numpy as np

from .mission import mission_time_to_mjd

_CRAB_PF = ((2.0, 0.10), (20.0, 0.15), (50.0, 0.20), (150.0, 0.25))


def crab_pulsed_fraction(energy: np.ndarray) -> np.ndarray:
    """The Crab's pulsed fraction at photon ``energy`` (keV), any shape."""
    e, f = np.log([p[0] for p in _CRAB_PF]), [p[1] for p in _CRAB_PF]
    return np.interp(np.log(np.maximum(np.asarray(energy, float), 1e-3)), e, f)


def pulsed_probability(pulsed_fraction: float | None, energy: np.ndarray) -> np.ndarray:
    """Probability that a source photon of ``energy`` (keV) is pulsed: ``pulsed_fraction`` when given,
    else the Crab's (:func:`crab_pulsed_fraction`)."""
    if pulsed_fraction is None:
        return crab_pulsed_fraction(energy)
    return np.full(np.shape(energy), float(pulsed_fraction))


def crab_profile_phases(rng: np.random.Generator, n: int) -> np.ndarray:
    """Phases (0..1) drawn from a Crab-like profile: main peak at 0, interpulse at 0.4."""
    main = rng.random(n) < 0.6
    ph = np.where(main, rng.normal(0.0, 0.015, n), rng.normal(0.4, 0.03, n))
    return np.mod(ph, 1.0)


def pulsar_rotation(cfg):
    """The :class:`~daisy_widgets.hxmt.ephemeris.Ephemeris` of a
    :class:`~daisy_widgets.hxmt.simulate.SimulationConfig`'s pulsar, or None."""
    from .ephemeris import Ephemeris, crab_ephemeris, read_par

    if cfg.pulsar_frequency:
        return Ephemeris((float(cfg.pulsar_frequency),), float(cfg.start), name=cfg.target)
    eph = cfg.pulsar_ephemeris
    if eph is None:
        return None
    if isinstance(eph, Ephemeris):
        return eph
    if str(eph).lower() == "crab":
        return crab_ephemeris(float(np.floor(mission_time_to_mjd(cfg.start))))
    return read_par(eph)


__all__ = ["crab_profile_phases", "crab_pulsed_fraction", "pulsar_rotation", "pulsed_probability"]
