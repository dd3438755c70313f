"""Spectral models of ``daisy hxmt fit``: photon flux integrated over energy bins.

Models (``K`` in photons/cm2/s/keV at 1 keV, energies ``E`` in keV):

* ``powerlaw``: ``K E^-Gamma`` (XSPEC ``powerlaw``, Sherpa ``powlaw1d``), integrated exactly;
* ``cutoffpl``: ``K E^-Gamma exp(-E / E_cut)`` (XSPEC ``cutoffpl``);
* ``tbabs*powerlaw``: ``exp(-N_H sigma(E)) K E^-Gamma``, ``N_H`` in 1e22 atoms/cm2. Without XSPEC the
  cross-section per H atom is that of Morrison & McCammon (1983, ApJ 270, 119; XSPEC's ``wabs``),
  its piecewise quadratic fit ``sigma(E) = (c0 + c1 E + c2 E^2) E^-3 1e-24 cm2`` over 0.03-10 keV (the
  last segment above 10 keV, where absorption is negligible for N_H < 1e24). Wilms, Allen & McCray
  (2000)'s ``tbabs`` differs by up to ~20 % below 1 keV, little in the HXMT bands.

The non-power-law models are integrated over each bin with 8-point Gauss-Legendre in ln E.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Morrison & McCammon (1983) Table 2: lower edge of each range (keV), c0, c1, c2
_MM83 = np.array(
    [
        (0.030, 17.3, 608.1, -2150.0),
        (0.100, 34.6, 267.9, -476.1),
        (0.284, 78.1, 18.8, 4.3),
        (0.400, 71.4, 66.8, -51.4),
        (0.532, 95.5, 145.8, -61.1),
        (0.707, 308.9, -380.6, 294.0),
        (0.867, 120.6, 169.3, -47.7),
        (1.303, 141.3, 146.8, -31.5),
        (1.840, 202.7, 104.7, -17.0),
        (2.471, 342.7, 18.7, 0.0),
        (3.210, 352.2, 18.7, 0.0),
        (4.038, 433.9, -2.4, 0.75),
        (7.111, 629.0, 30.9, 0.0),
        (8.331, 701.2, 25.2, 0.0),
    ]
)


def absorption_cross_section(energy: np.ndarray) -> np.ndarray:
    """Photo-absorption cross-section per H atom (1e-22 cm2, so that ``N_H`` is in 1e22 cm-2) at
    ``energy`` (keV), any shape; Morrison & McCammon (1983)."""
    e = np.asarray(energy, float)
    k = np.clip(np.searchsorted(_MM83[:, 0], e, side="right") - 1, 0, len(_MM83) - 1)
    c0, c1, c2 = _MM83[k, 1], _MM83[k, 2], _MM83[k, 3]
    return (c0 + c1 * e + c2 * e * e) / e**3 * 1e-2  # 1e-24 cm2 -> units of 1e-22 cm2


_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)


def _integrate(fn, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Integral of ``fn(E)`` (per keV) over each bin [lo, hi] (keV), Gauss-Legendre in ln E."""
    a, b = np.log(lo), np.log(hi)
    mid, half = 0.5 * (a + b), 0.5 * (b - a)
    x = mid[:, None] + half[:, None] * _GL_X[None, :]
    e = np.exp(x)
    return np.sum(fn(e) * e * _GL_W[None, :], axis=1) * half


def powerlaw_flux(gamma: float, norm: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Photons/cm2/s in each bin of ``K E^-Gamma``: ``K (hi^(1-G) - lo^(1-G)) / (1-G)``."""
    a = 1.0 - gamma
    if abs(a) < 1e-9:
        return norm * np.log(hi / lo)
    return norm * (hi**a - lo**a) / a


@dataclass(frozen=True)
class SpectralModel:
    """A model: its name, the names of its shape parameters, their start values and bounds.

    ``flux(shape, norm, lo, hi)`` gives photons/cm2/s per energy bin (n_energy,) for shape
    parameters ``shape`` (tuple) and normalisation ``norm`` (photons/cm2/s/keV at 1 keV).
    """

    name: str
    shape_names: tuple[str, ...]
    start: tuple[float, ...]
    bounds: tuple[tuple[float, float], ...]

    def flux(self, shape: tuple[float, ...], norm: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        if self.name == "powerlaw":
            return powerlaw_flux(shape[0], norm, lo, hi)
        if self.name == "cutoffpl":
            g, ecut = shape
            return norm * _integrate(lambda e: e**-g * np.exp(-e / ecut), lo, hi)
        if self.name == "tbabs*powerlaw":
            nh, g = shape
            # absorption varies inside a bin only near edges: exact power law times mean transmission
            trans = _integrate(lambda e: np.exp(-nh * absorption_cross_section(e)) * e**-g, lo, hi)
            return norm * trans
        raise ValueError(f"unknown model {self.name!r}")

    @property
    def index_position(self) -> int:
        """Position of the photon index in ``shape``."""
        return self.shape_names.index("photon_index")


MODELS = {
    "powerlaw": SpectralModel("powerlaw", ("photon_index",), (2.0,), ((-3.0, 10.0),)),
    "cutoffpl": SpectralModel(
        "cutoffpl", ("photon_index", "e_cut"), (1.5, 100.0), ((-3.0, 10.0), (1.0, 1e4))
    ),
    "tbabs*powerlaw": SpectralModel(
        "tbabs*powerlaw", ("nh", "photon_index"), (0.3, 2.0), ((0.0, 1e3), (-3.0, 10.0))
    ),
}

#: how a model name may be written on the command line
ALIASES = {
    "powerlaw": "powerlaw",
    "pow": "powerlaw",
    "powlaw1d": "powerlaw",
    "cutoffpl": "cutoffpl",
    "tbabs*powerlaw": "tbabs*powerlaw",
    "tbabs*pow": "tbabs*powerlaw",
    "wabs*powerlaw": "tbabs*powerlaw",
}


def get_model(name: str) -> SpectralModel:
    """The :class:`SpectralModel` called ``name`` (see :data:`ALIASES`)."""
    key = ALIASES.get(str(name).strip().lower().replace(" ", ""))
    if key is None:
        raise ValueError(f"unknown model {name!r}: expected powerlaw, tbabs*powerlaw or cutoffpl")
    return MODELS[key]
