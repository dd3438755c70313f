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

    Written with ``t_s = 1`` and ``t_b = 1 / alpha`` (per group when ``alpha`` is an array); the
    four cases of XSPEC's formula (S or B zero) are evaluated side by side and selected.
    """
    tb = 1.0 / np.asarray(alpha, float)
    m = np.maximum(mu, 1e-300)
    tt = 1.0 + tb
    d = np.sqrt((tt * m - S - B) ** 2 + 4 * tt * B * m)
    f = (S + B - tt * m + d) / (2 * tt)
    s_pos, b_pos = S > 0, B > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_s = np.log(np.where(s_pos, S, 1.0))
        ln_b = np.log(np.where(b_pos, B, 1.0))
        both = m + tt * f - S * np.log(m + f) - B * np.log(tb * f) - S * (1 - ln_s) - B * (1 - ln_b)
        no_s = m - B * np.log(tb / tt)
        no_b_low = -tb * m - S * np.log(1.0 / tt)
        no_b_high = m + S * (ln_s - np.log(m) - 1)
    w = np.select(
        [s_pos & b_pos, ~s_pos & b_pos, s_pos & ~b_pos & (m <= S / tt), s_pos & ~b_pos],
        [both, no_s, no_b_low, no_b_high],
        default=m,
    )
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
