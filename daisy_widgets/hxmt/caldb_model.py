"""The instrument model the CALDB files are built from (:func:`.caldb.build_caldb`), with its sources.

Where each number comes from:

* **Published figures of a real Crab observation** (``CRAB_REFERENCE``): ObsID P0111605001
  (2017-11-09), products written by the mission's software (HXMTDAS): net and background count rates
  per instrument and band, and the on-axis effective areas of its responses (the sum of each
  response-matrix row). These figures are those of Daisy issue 23; they are the targets the
  simulated Crab is checked against (``tests/hxmt/test_crab_realism.py``, ``docs/hxmt.md``).
* **Instrument geometry** from the instrument papers (Science China Physics, Mechanics & Astronomy
  63, 2020): HE (Liu C. Z. et al., 249503): 18 NaI(Tl)/CsI(Na) phoswich detectors, 3.5 mm NaI,
  about 5100 cm2 in all, one detector (#16) fully blocked to measure the background; ME (Cao X. L.
  et al., 249504): 1728 Si-PIN pixels, 1 mm thick, in 3 boxes, about 950 cm2; LE (Chen Y. et al.,
  249505): 96 swept-charge devices (CCD236), about 384 cm2, some covered (blind).
* **Energy resolution** (same papers, and the calibration papers in the Journal of High Energy
  Astrophysics 27, 2020: HE, Li X. B. et al., 64; ME, Guo C. C. et al., 44; LE, Li X. B. et al., 1):
  HE about 15 % FWHM at 60 keV, ME about 3 keV at 17.8 keV, LE about 140 eV at 5.9 keV.
* **Effective-area curves**: at the energies of ``CRAB_REFERENCE`` the HE and ME curves go through
  the real responses' areas (the issue's table); between and beyond them the shape is ours: the
  rise is the low-energy threshold, the fall that of the detector's absorption efficiency (NaI
  3.5 mm for HE, with XCOM attenuation coefficients 0.335, 0.167 and 0.117 cm2/g at 200, 300 and
  400 keV; Si 1 mm for ME). LE has no area in the table: its curve (filter cut-off below 1.5 keV,
  depletion-depth fall above 7 keV) is scaled so that the simulated Crab gives the table's LE rates.
* **Redistribution** (HE): iodine K-escape (the K edge at 33.17 keV, escape peak 28.6 keV below the
  photopeak) and a flat Compton/partial-absorption tail; their fractions are round numbers of our
  own (no HXMT figure at hand), chosen so that the HE band rates of the table come out.
* **Backgrounds**: the level in each band is set so that the simulated background over the
  default good time matches the table (no published background spectrum was at hand); the shape
  between bands is a piecewise power law through those levels; the lines (HE 59.5 keV: the 241Am
  calibration sources; ME 22.1 keV; LE 1.74 and 8.05 keV) are placed where the instrument papers
  show them, with rates of our own. The modulation along the orbit (cut-off rigidity, SAA
  activation) is of our own form; the levels were set with it applied, so that the rates averaged
  over the default exposure's good time match the table.
  Blind detectors see the same particle background per detector as open ones (the relation the
  pipeline's estimate ``blind x n_open / n_blind`` assumes).
* **Dead time**: non-paralysable, ``TAU`` per recorded event and detector; HE 20 us, ME 250 us,
  LE 100 us (round numbers, not from the papers). At Crab rates (about 90 recorded events/s per
  HE detector) HE loses about 0.2 % of its time; LE pile-up (two X-rays in one 100 us read-out of
  one device) is negligible: about 17 counts/s per small-field CCD give a probability of ~2e-3.
"""

from __future__ import annotations

import numpy as np

#: Crab, ObsID P0111605001 (2017-11-09), HXMTDAS products (Daisy issue 23):
#: ``rates[inst][(lo, hi)] = (net, background)`` counts/s; ``areas[inst][E keV] = cm2``
CRAB_REFERENCE = {
    "rates": {
        "HE": {(28.0, 50.0): (307.0, 128.0), (50.0, 100.0): (186.0, 152.0), (100.0, 250.0): (53.0, 207.0)},
        "ME": {(10.0, 20.0): (166.0, 12.0), (20.0, 30.0): (35.0, 12.0)},
        "LE": {(1.0, 4.0): (602.0, 5.0), (4.0, 10.0): (162.0, 4.0)},
    },
    "areas": {
        "HE": {20.0: 186.0, 30.0: 3424.0, 50.0: 3288.0, 100.0: 3106.0, 200.0: 1033.0},
        "ME": {8.0: 187.0, 10.0: 396.0, 20.0: 445.0, 30.0: 226.0},
    },
}

#: the Crab's spectrum: power law (Kirsch et al. 2005, A&A 440, 775: index ~2.1, norm ~9.7 at 1 keV)
#: absorbed by N_H = 0.35e22 cm-2 (the value the HXMT LE calibration uses for the Crab, issue 23)
CRAB_INDEX, CRAB_NORM, CRAB_NH = 2.1, 9.7, 0.35

#: effective-area nodes (keV, cm2) of all open detectors; log-log interpolation (PCHIP)
_AREA_NODES = {
    "HE": [
        (14.0, 1.0),
        (17.0, 12.0),
        (20.0, 186.0),  # table
        (24.0, 1500.0),
        (27.0, 3000.0),
        (30.0, 3424.0),  # table
        (40.0, 3380.0),
        (50.0, 3288.0),  # table
        (100.0, 3106.0),  # table
        (150.0, 1950.0),
        (200.0, 1033.0),  # table
        (300.0, 570.0),  # 1033 x eff(300) / eff(200), NaI 3.5 mm
        (400.0, 413.0),  # 1033 x eff(400) / eff(200)
        (430.0, 380.0),
    ],
    "ME": [
        (3.0, 0.5),
        (5.0, 8.0),
        (6.0, 35.0),
        (7.0, 95.0),
        (8.0, 187.0),  # table
        (10.0, 396.0),  # table
        (14.0, 450.0),
        (20.0, 445.0),  # table
        (30.0, 226.0),  # table
        (40.0, 95.0),
        (50.0, 52.0),
        (70.0, 22.0),
    ],
    "LE": [
        (0.08, 0.5),
        (0.5, 4.0),
        (0.8, 22.0),
        (1.0, 50.0),
        (1.5, 100.0),
        (2.0, 118.0),
        (3.0, 128.0),
        (5.0, 130.0),
        (7.0, 120.0),
        (8.0, 106.0),
        (10.0, 75.0),
        (12.0, 50.0),
        (15.0, 30.0),
    ],
}

#: scale applied to the LE nodes (set so that the simulated Crab gives the table's LE rates)
LE_AREA_SCALE = 1.13


def area_model(inst: str, e: np.ndarray) -> np.ndarray:
    """On-axis effective area (cm2) of all open detectors of ``inst`` at energies ``e`` (keV)."""
    from scipy.interpolate import PchipInterpolator

    nodes = np.asarray(_AREA_NODES[inst], float)
    f = PchipInterpolator(np.log(nodes[:, 0]), np.log(nodes[:, 1]), extrapolate=True)
    e = np.clip(np.asarray(e, float), nodes[0, 0] * 0.5, nodes[-1, 0] * 2)
    out = np.exp(f(np.log(e)))
    out = np.where(np.asarray(e) < nodes[0, 0], nodes[0, 1] * (e / nodes[0, 0]) ** 4, out)
    return out * (LE_AREA_SCALE if inst == "LE" else 1.0)


def fwhm_model(inst: str, e: np.ndarray) -> np.ndarray:
    """Energy resolution, FWHM (keV), at ``e`` (keV)."""
    e = np.asarray(e, float)
    if inst == "HE":
        return 0.15 * 60.0 * np.sqrt(e / 60.0)  # 15 % at 60 keV
    if inst == "ME":
        return np.sqrt(1.0 + (3.0**2 - 1.0) * e / 17.8)  # 3 keV at 17.8 keV
    return np.sqrt(0.05**2 + (0.14**2 - 0.05**2) * e / 5.9)  # 140 eV at 5.9 keV


#: HE iodine K-escape: edge (keV), energy carried away (keV, I K-alpha), escape probability at the edge
HE_ESCAPE = (33.17, 28.6, 0.18)


def escape_fraction(inst: str, e: np.ndarray) -> np.ndarray:
    """Fraction of interacting photons whose fluorescence escapes (lands ``ESCENER`` keV lower)."""
    e = np.asarray(e, float)
    if inst != "HE":
        return np.zeros_like(e)
    edge, _, p0 = HE_ESCAPE
    return np.where(e >= edge, p0 * (edge / np.maximum(e, edge)) ** 1.5, 0.0)


def tail_fraction(inst: str, e: np.ndarray) -> np.ndarray:
    """Fraction of interacting photons that leave only part of their energy (flat from 0 to E)."""
    e = np.asarray(e, float)
    if inst == "HE":
        return np.interp(e, [30.0, 100.0, 200.0, 300.0, 450.0], [0.02, 0.15, 0.42, 0.55, 0.62])
    if inst == "ME":
        return np.interp(e, [5.0, 20.0, 30.0, 60.0], [0.01, 0.05, 0.10, 0.20])
    return np.full_like(e, 0.02)


#: particle background per detector: nodes (keV, counts/s/keV/detector), log-log interpolation,
#: at modulation 1 (see :func:`orbit_modulation`); lines (keV, counts/s/detector); events screened out (counts/s/detector)
BACKGROUND = {
    "HE": dict(
        nodes=[
            (15.0, 0.42),
            (28.0, 0.38),
            (39.0, 0.33),
            (50.0, 0.235),
            (70.0, 0.185),
            (100.0, 0.125),
            (150.0, 0.086),
            (250.0, 0.060),
            (390.0, 0.045),
        ],
        lines=[(59.5, 0.25)],
        junk=5.0,
    ),
    "ME": dict(
        nodes=[(3.0, 1.2e-3), (10.0, 7.45e-4), (20.0, 6.45e-4), (30.0, 5.8e-4), (65.0, 5.2e-4)],
        lines=[(22.1, 7.4e-4)],
        junk=0.002,
    ),
    "LE": dict(
        nodes=[(0.1, 0.104), (1.0, 0.060), (4.0, 0.0218), (10.0, 0.0135), (13.2, 0.0125)],
        lines=[(1.74, 6.2e-4), (8.05, 1.24e-3)],
        junk=0.01,
    ),
}

#: blind detectors
BLIND = {"HE": [16], "ME": [i for i in range(1728) if i % 72 == 71], "LE": [20, 52, 84]}
#: detectors not in use (no events): LE's large-field CCDs, which the standard analysis leaves out
#: (it selects the small-field ones); which CCDs they are is our stand-in (every odd-numbered one):
#: the real list was not at hand. With the 45 small-field CCDs the table's LE background gives the
#: blind CCDs about twice the counts per CCD that spreading it over all 93 unblinded ones would.
NOT_IN_USE = {"HE": [], "ME": [], "LE": [i for i in range(96) if i % 2 == 1]}
#: dead time per recorded event and detector (s)
TAU = {"HE": 20e-6, "ME": 250e-6, "LE": 1.0e-4}


def background_density(inst: str, e: np.ndarray) -> np.ndarray:
    """Particle-background continuum (counts/s/keV per detector) at ``e`` (keV), mean conditions."""
    nodes = np.asarray(BACKGROUND[inst]["nodes"], float)
    return np.exp(np.interp(np.log(np.asarray(e, float)), np.log(nodes[:, 0]), np.log(nodes[:, 1])))


def orbit_modulation(cor: np.ndarray, t_saa: np.ndarray) -> np.ndarray:
    """Background modulation along the orbit: higher at low cut-off rigidity ``cor`` (GV), and
    activation after an SAA passage decaying over ``t_saa`` s (1 at ``cor`` >= 12 GV long after it)."""
    cor = np.maximum(np.asarray(cor, float), 1.0)
    rig = 1.0 + 0.25 * np.clip(12.0 / cor - 1.0, 0.0, 3.0)
    act = 1.0 + 0.6 * np.exp(-np.asarray(t_saa, float) / 1500.0)
    return rig * act / MODULATION_MEAN


#: divisor of the modulation (1: the background levels were calibrated with the modulation applied)
MODULATION_MEAN = 1.0


__all__ = [
    "BACKGROUND",
    "BLIND",
    "NOT_IN_USE",
    "CRAB_INDEX",
    "CRAB_NH",
    "CRAB_NORM",
    "CRAB_REFERENCE",
    "TAU",
    "area_model",
    "background_density",
    "escape_fraction",
    "fwhm_model",
    "orbit_modulation",
    "tail_fraction",
]
