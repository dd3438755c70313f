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
    from astropy.io import fits

    pha = Path(pha)
    with fits.open(pha) as hl:
        h = hl["SPECTRUM"].header
        out = {
            "counts": np.array(hl["SPECTRUM"].data["COUNTS"], float),
            "exposure": float(h["EXPOSURE"]),
            "backscal": float(h.get("BACKSCAL", 1.0)),
            "backfile": h.get("BACKFILE", "NONE"),
            "respfile": h.get("RESPFILE", "NONE"),
        }
    if out["backfile"] not in ("NONE", "none", ""):
        with fits.open(pha.parent / out["backfile"]) as hl:
            hb = hl["SPECTRUM"].header
            out["bkg_counts"] = np.array(hl["SPECTRUM"].data["COUNTS"], float)
            out["bkg_scale"] = (out["exposure"] / float(hb["EXPOSURE"])) * (
                out["backscal"] / float(hb.get("BACKSCAL", 1.0))
            )
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
            full[i, a : a + mat.shape[1]] = mat[i, : len(out["counts"]) - a]
        out["matrix"] = full
        eb = hl["EBOUNDS"].data
        out["e_min"], out["e_max"] = np.array(eb["E_MIN"], float), np.array(eb["E_MAX"], float)
    return out


def _group(
    counts: np.ndarray, min_counts: int, bkg: np.ndarray | None = None, min_bkg: int = 0
) -> np.ndarray:
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


def wstat(S: np.ndarray, B: np.ndarray, mu: np.ndarray, alpha: float) -> float:
    """W-statistic (XSPEC appendix B: Cash with the background profiled out).

    ``S``, ``B``: source and background counts per group; ``mu``: model source counts;
    ``alpha``: source/background exposure x BACKSCAL ratio (the background counts scale to
    the source region by ``alpha``). Written with ``t_s = 1``, ``t_b = 1/alpha``.
    """
    ts, tb = 1.0, 1.0 / alpha
    m = np.maximum(mu, 1e-300)
    d = np.sqrt(((ts + tb) * m - S - B) ** 2 + 4 * (ts + tb) * B * m)
    f = (S + B - (ts + tb) * m + d) / (2 * (ts + tb))
    w = np.empty_like(m)
    s0, b0 = S == 0, B == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        g = ~s0 & ~b0
        w[g] = (
            ts * m[g]
            + (ts + tb) * f[g]
            - S[g] * np.log(ts * m[g] + ts * f[g])
            - B[g] * np.log(tb * f[g])
            - S[g] * (1 - np.log(S[g]))
            - B[g] * (1 - np.log(B[g]))
        )
        k = s0 & ~b0
        w[k] = ts * m[k] - B[k] * np.log(tb / (ts + tb))
        lim = m <= S / (ts + tb)
        k1 = ~s0 & b0 & lim
        w[k1] = -tb * m[k1] - S[k1] * np.log(ts / (ts + tb))
        k2 = ~s0 & b0 & ~lim
        w[k2] = ts * m[k2] + S[k2] * (np.log(S[k2]) - np.log(ts * m[k2]) - 1)
        w[s0 & b0] = ts * m[s0 & b0]
    return float(2.0 * np.sum(w))


def fit_powerlaw(
    pha: str | Path,
    band: tuple[float, float],
    min_counts: int = 30,
    min_bkg: int = 20,
    start: tuple[float, float] = (2.0, 10.0),
    stat: str = "wstat",
) -> PowerLawFit:
    """Fit ``K * E**-Gamma`` to the channels of ``pha`` whose energy bounds lie inside ``band`` (keV).

    ``stat="wstat"`` (default): Poisson likelihood of source and background counts with the
    background profiled out per group (XSPEC's W-statistic), channels grouped to ``min_counts``;
    errors from the curvature of W. ``stat="chi2"``: chi-square with data variance
    ``N + scale**2 * B``, channels grouped to ``min_counts`` counts and ``min_bkg`` background
    counts. ``chi2``/``dof`` are reported in both cases (Pearson chi-square for W-stat).
    """
    from scipy.optimize import least_squares

    d = read_ogip(pha)
    sel = (d["e_min"] >= band[0]) & (d["e_max"] <= band[1])
    n = d["counts"][sel]
    b = d.get("bkg_counts", np.zeros_like(d["counts"]))[sel]
    bs = float(d.get("bkg_scale", 0.0))
    lab = _group(n, min_counts, b, min_bkg if bs > 0 and b.sum() >= 2 * min_bkg else 0)
    ng = lab.max() + 1
    N = np.bincount(lab, n, ng)
    B = np.bincount(lab, b, ng)
    var = N + bs**2 * B
    elo, ehi = d["energ_lo"], d["energ_hi"]
    R = d["matrix"][:, sel]

    def model(p):
        g, k = p
        a = 1.0 - g
        flux = k * (ehi**a - elo**a) / a if abs(a) > 1e-9 else k * np.log(ehi / elo)
        return np.bincount(lab, flux @ R, ng) * d["exposure"] + bs * B

    def resid(p):
        return (N - model(p)) / np.sqrt(np.maximum(var, 1.0))

    r = least_squares(resid, x0=np.array(start, float), x_scale="jac")
    J = r.jac
    cov = np.linalg.inv(J.T @ J)
    chi2 = float(np.sum(r.fun**2))
    if stat == "chi2":
        return PowerLawFit(
            float(r.x[0]),
            float(np.sqrt(cov[0, 0])),
            float(r.x[1]),
            float(np.sqrt(cov[1, 1])),
            chi2,
            int(ng - 2),
            int(n.sum()),
        )
    if stat != "wstat":
        raise ValueError(f"stat must be 'wstat' or 'chi2'; got {stat!r}")
    from scipy.optimize import minimize

    lab2 = _group(n, min_counts)
    ng2 = lab2.max() + 1
    S2, B2 = np.bincount(lab2, n, ng2), np.bincount(lab2, b, ng2)
    alpha = bs if bs > 0 else 1.0

    def src_counts(p):
        g, k = p
        a = 1.0 - g
        flux = k * (ehi**a - elo**a) / a if abs(a) > 1e-9 else k * np.log(ehi / elo)
        return np.bincount(lab2, flux @ R, ng2) * d["exposure"]

    def W(p):
        mu = src_counts(p)
        if bs <= 0:  # no background: Cash statistic
            mu = np.maximum(mu, 1e-300)
            return float(2 * np.sum(mu - S2 + S2 * np.log(np.where(S2 > 0, S2 / mu, 1.0))))
        return wstat(S2, B2, mu, alpha)

    res = minimize(W, r.x, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-6, "maxiter": 4000})
    x = res.x
    h = np.array([1e-3 * max(abs(x[0]), 1e-3), 1e-3 * max(abs(x[1]), 1e-6)])
    H = np.empty((2, 2))
    f0 = W(x)
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            H[i, j] = (
                (W(x + ei + ej) - W(x + ei - ej) - W(x - ei + ej) + W(x - ei - ej)) / (4 * h[i] * h[j])
                if i != j
                else (W(x + ei) - 2 * f0 + W(x - ei)) / h[i] ** 2
            )
    cov = 2.0 * np.linalg.inv(H)
    return PowerLawFit(
        float(x[0]),
        float(np.sqrt(cov[0, 0])),
        float(x[1]),
        float(np.sqrt(cov[1, 1])),
        float(f0),
        int(ng2 - 2),
        int(n.sum()),
    )
