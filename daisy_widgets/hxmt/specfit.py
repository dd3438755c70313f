"""A small forward-folding spectral fit of OGIP files (used when Sherpa is not installed).

Reads the PHA file with astropy, follows its ``BACKFILE`` and ``RESPFILE``
keywords, folds a power law ``K * E**-Gamma`` (photons/cm2/s/keV) through the
response, adds the background scaled by exposure and ``BACKSCAL`` ratios and
fits with chi-square (data variance, channels grouped to a minimum of counts).
It knows nothing of the pipeline's objects: only the files.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class PowerLawFit:
    """Best fit: photon index and normalisation (at 1 keV) with 1-sigma errors, chi2 and dof."""

    index: float
    index_err: float
    norm: float
    norm_err: float
    chi2: float
    dof: int
    n_counts: int


def read_ogip(pha: str | Path) -> dict[str, object]:
    """Counts, exposure, backscal, background and response of a PHA file (paths resolved next to it)."""
    from astropy.io import fits  # noqa: PLC0415

    pha = Path(pha)
    with fits.open(pha) as hl:
        h = hl["SPECTRUM"].header
        out = {"counts": np.array(hl["SPECTRUM"].data["COUNTS"], float), "exposure": float(h["EXPOSURE"]),
               "backscal": float(h.get("BACKSCAL", 1.0)), "backfile": h.get("BACKFILE", "NONE"),
               "respfile": h.get("RESPFILE", "NONE")}
    if out["backfile"] not in ("NONE", "none", ""):
        with fits.open(pha.parent / out["backfile"]) as hl:
            hb = hl["SPECTRUM"].header
            out["bkg_counts"] = np.array(hl["SPECTRUM"].data["COUNTS"], float)
            out["bkg_scale"] = (out["exposure"] / float(hb["EXPOSURE"])) * (out["backscal"] / float(hb.get("BACKSCAL", 1.0)))
    with fits.open(pha.parent / out["respfile"]) as hl:
        m = hl["MATRIX"].data
        out["energ_lo"] = np.array(m["ENERG_LO"], float)
        out["energ_hi"] = np.array(m["ENERG_HI"], float)
        mat = np.array(m["MATRIX"], float)
        f_chan = np.array(m["F_CHAN"]).reshape(len(m), -1)[:, 0]
        tlmin = int(hl["MATRIX"].header.get("TLMIN4", 0))
        full = np.zeros((len(m), len(out["counts"])))
        for i in range(len(m)):
            a = int(f_chan[i]) - tlmin
            full[i, a:a + mat.shape[1]] = mat[i, : len(out["counts"]) - a]
        out["matrix"] = full
        eb = hl["EBOUNDS"].data
        out["e_min"], out["e_max"] = np.array(eb["E_MIN"], float), np.array(eb["E_MAX"], float)
    return out


def _group(counts: np.ndarray, min_counts: int, bkg: np.ndarray | None = None, min_bkg: int = 0) -> np.ndarray:
    """Group labels so each group has at least ``min_counts`` counts and ``min_bkg`` background
    counts (the last group is merged back into the previous one)."""
    labels = np.zeros(counts.size, int)
    bkg = np.zeros_like(counts) if bkg is None else bkg
    g, acc, accb = 0, 0.0, 0.0
    for i, c in enumerate(counts):
        labels[i] = g
        acc += c
        accb += bkg[i]
        if acc >= min_counts and accb >= min_bkg:
            g, acc, accb = g + 1, 0.0, 0.0
    if (acc < min_counts or accb < min_bkg) and g > 0:
        labels[labels == g] = g - 1
    return labels


def fit_powerlaw(pha: str | Path, band: tuple[float, float], min_counts: int = 30, min_bkg: int = 20,
                 start: tuple[float, float] = (2.0, 10.0)) -> PowerLawFit:
    """Fit ``K * E**-Gamma`` to the channels of ``pha`` whose energy bounds lie inside ``band`` (keV).

    Channels are grouped to at least ``min_counts`` counts and ``min_bkg`` background counts
    (so that the chi-square with data variance ``N + scale**2 * B`` is not biased by
    nearly empty background channels).
    """
    from scipy.optimize import least_squares  # noqa: PLC0415

    d = read_ogip(pha)
    sel = (d["e_min"] >= band[0]) & (d["e_max"] <= band[1])
    n = d["counts"][sel]
    b = d.get("bkg_counts", np.zeros_like(d["counts"]))[sel]
    bs = float(d.get("bkg_scale", 0.0))
    lab = _group(n, min_counts, b, min_bkg if bs > 0 else 0)
    ng = lab.max() + 1
    N = np.bincount(lab, n, ng)
    B = np.bincount(lab, b, ng)
    var = N + bs ** 2 * B
    elo, ehi = d["energ_lo"], d["energ_hi"]
    R = d["matrix"][:, sel]

    def model(p):
        g, k = p
        a = 1.0 - g
        flux = k * (ehi ** a - elo ** a) / a if abs(a) > 1e-9 else k * np.log(ehi / elo)
        return np.bincount(lab, flux @ R, ng) * d["exposure"] + bs * B

    def resid(p):
        return (N - model(p)) / np.sqrt(np.maximum(var, 1.0))

    r = least_squares(resid, x0=np.array(start, float), x_scale="jac")
    J = r.jac
    cov = np.linalg.inv(J.T @ J)
    chi2 = float(np.sum(r.fun ** 2))
    return PowerLawFit(float(r.x[0]), float(np.sqrt(cov[0, 0])), float(r.x[1]), float(np.sqrt(cov[1, 1])),
                       chi2, int(ng - 2), int(n.sum()))
