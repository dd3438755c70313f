"""Fit statistics as in XSPEC (appendix B of its manual) and Sherpa, per group of channels.

Notation: ``S`` source counts, ``B`` background counts, ``mu`` model source counts (all per group,
shape (n,)); ``alpha`` = source over background exposure x ``BACKSCAL`` x ``AREASCAL``, so the
background predicts ``alpha * B`` counts in the source spectrum; ``sigma_b`` the 1-sigma error of
``B`` (counts) for Gaussian backgrounds.

* ``cstat``: Cash (1979) in XSPEC's form ``2 sum(mu - S + S ln(S / mu))``; with a background
  XSPEC's ``cstat`` becomes the W-statistic, and so does this one.
* ``wstat``: Poisson source and Poisson background, the background profiled out per group.
* ``pgstat``: Poisson source, Gaussian background (``STAT_ERR``, e.g. a model background of HXMTDAS).
* ``chi2``: background subtracted, data variance ``S + alpha^2 B`` (or the ``STAT_ERR`` values),
  as Sherpa's ``chi2datavar``; use it on grouped data.
"""

from __future__ import annotations

import numpy as np

STATISTICS = ("cstat", "wstat", "pgstat", "chi2")


def cash(S: np.ndarray, mu: np.ndarray) -> float:
    """XSPEC's C-statistic (no background)."""
    m = np.maximum(mu, 1e-300)
    pos = S > 0
    return float(2.0 * (np.sum(m - S) + np.sum(S[pos] * np.log(S[pos] / m[pos]))))


def wstat(S: np.ndarray, B: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float) -> float:
    """W-statistic: Cash with the background rate profiled out (XSPEC appendix B).

    Written with ``t_s = 1`` and ``t_b = 1 / alpha`` (per group when ``alpha`` is an array).
    """
    ts = np.ones_like(mu)
    tb = np.broadcast_to(1.0 / np.asarray(alpha, float), mu.shape)
    m = np.maximum(mu, 1e-300)
    tt = ts + tb
    d = np.sqrt((tt * m - S - B) ** 2 + 4 * tt * B * m)
    f = (S + B - tt * m + d) / (2 * tt)
    w = np.zeros_like(m)
    s0, b0 = S == 0, B == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        g = ~s0 & ~b0
        w[g] = (
            ts[g] * m[g]
            + tt[g] * f[g]
            - S[g] * np.log(ts[g] * m[g] + ts[g] * f[g])
            - B[g] * np.log(tb[g] * f[g])
            - S[g] * (1 - np.log(S[g]))
            - B[g] * (1 - np.log(B[g]))
        )
        k = s0 & ~b0
        w[k] = ts[k] * m[k] - B[k] * np.log(tb[k] / tt[k])
        lim = m <= S / tt
        k1 = ~s0 & b0 & lim
        w[k1] = -tb[k1] * m[k1] - S[k1] * np.log(ts[k1] / tt[k1])
        k2 = ~s0 & b0 & ~lim
        w[k2] = ts[k2] * m[k2] + S[k2] * (np.log(S[k2]) - np.log(ts[k2] * m[k2]) - 1)
        z = s0 & b0
        w[z] = ts[z] * m[z]
    return float(2.0 * np.sum(w))


def pgstat(
    S: np.ndarray, B: np.ndarray, sigma_b: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float
) -> float:
    """PG-statistic: Poisson source, Gaussian background of error ``sigma_b`` (counts), the
    background rate profiled out per group (XSPEC appendix B)."""
    ts = 1.0
    tb = np.broadcast_to(1.0 / np.asarray(alpha, float), mu.shape)
    m = np.maximum(mu, 0.0)
    s2 = np.maximum(sigma_b, 1e-12) ** 2
    b = ts * s2 - tb * B + tb**2 * m
    c = ts * s2 * m - S * s2 - tb * B * m
    disc = np.maximum(b * b - 4 * tb**2 * c, 0.0)
    f = (-b + np.sqrt(disc)) / (2 * tb**2)
    f0 = B / tb - ts * s2 / tb**2  # S = 0: the minimum of ts f + (B - tb f)^2 / 2 s2
    f = np.where(S > 0, f, f0)
    f = np.maximum(f, 0.0)
    lam = np.maximum(ts * (m + f), 1e-300)
    pos = S > 0
    out = np.sum(lam) + np.sum((B - tb * f) ** 2 / (2 * s2))
    out -= np.sum(S[pos] * np.log(lam[pos])) + np.sum(S[pos] * (1 - np.log(S[pos])))
    return float(2.0 * out)


def chi2(
    S: np.ndarray, B: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float, variance: np.ndarray
) -> float:
    """Chi-square of the background-subtracted counts ``S - alpha B`` against ``mu``."""
    return float(np.sum((S - np.asarray(alpha) * B - mu) ** 2 / variance))
