"""Spectral fits of OGIP products, one instrument or several jointly (``daisy hxmt fit``).

A joint fit shares the spectral shape (photon index, and N_H or E_cut) and the normalisation
``K`` of the first data set; every other data set has a free cross-normalisation ``C_j`` (its
model is ``C_j`` times the first one's), as ``constant*powerlaw`` in XSPEC.

Backends: ``sherpa`` (Sherpa reads the files itself and fits, see :mod:`.fit_sherpa`) when it is
installed, else ``builtin`` (the files read by :mod:`.ogip`, the model of :mod:`.fit_models` folded
through the response, the statistics of :mod:`.fit_stats` minimised with SciPy; errors from the
curvature of the statistic, as Sherpa's ``covar``). ``pgstat`` is built-in only (Sherpa has none).

Example::

    res = fit_spectra([DataFiles(Path("HE_spec.pha"), band=(28, 250))], "powerlaw", "wstat")
    res.photon_index, res.photon_index_err
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence

import numpy as np

from . import fit_stats
from .fit_data import DataFiles, FitData, load_data
from .fit_models import SpectralModel, get_model
from .fit_result import FitResult

BACKENDS = ("auto", "sherpa", "builtin")


def have_sherpa() -> bool:
    """Whether Sherpa can be imported."""
    return importlib.util.find_spec("sherpa") is not None


def _statistic_of(d: FitData, stat: str) -> Callable[[np.ndarray], float]:
    if stat == "chi2":
        return lambda mu: fit_stats.chi2(d.S, d.B, mu, d.alpha, d.var_s)
    if stat == "pgstat":
        if not d.has_background:
            return lambda mu: fit_stats.cash(d.S, mu)
        return lambda mu: fit_stats.pgstat(d.S, d.B, d.sigma_b, mu, d.alpha)
    if d.has_background:  # wstat, and cstat with a background (as XSPEC)
        return lambda mu: fit_stats.wstat(d.S, d.B, mu, d.alpha)
    return lambda mu: fit_stats.cash(d.S, mu)


class _Objective:
    """The summed statistic of all data sets as a function of the free parameters.

    Parameter vector: shape parameters, ``ln K_p``, then ``ln C_j`` for data sets 2..n, where
    ``K_p = K E_p^-Gamma`` is the flux density at a pivot energy ``E_p`` inside the first band
    (the geometric mean of its bounds): far from 1 keV, ``K`` and ``Gamma`` are almost fully
    correlated, ``K_p`` and ``Gamma`` much less, so the minimiser converges in fewer steps.
    """

    def __init__(self, model: SpectralModel, data: list[FitData], stat: str):
        self.model, self.data, self.n_shape = model, data, len(model.shape_names)
        self.stats = [_statistic_of(d, stat) for d in data]
        lo, hi = data[0].files.band
        self.ln_pivot = 0.5 * (np.log(max(lo, 1e-3)) + np.log(max(hi, 1e-3)))
        self.gi = model.index_position

    def ln_norm(self, x: np.ndarray) -> float:
        """``ln K`` (K at 1 keV) of a parameter vector."""
        return float(x[self.n_shape] + x[self.gi] * self.ln_pivot)

    def counts(self, x: np.ndarray) -> list[np.ndarray]:
        shape, norm = tuple(x[: self.n_shape]), float(np.exp(self.ln_norm(x)))
        out = []
        for j, d in enumerate(self.data):
            c = 1.0 if j == 0 else float(np.exp(x[self.n_shape + j]))
            flux = self.model.flux(shape, norm * c, d.energ_lo, d.energ_hi)
            out.append(d.exposure * (flux @ d.response))
        return out

    def __call__(self, x: np.ndarray) -> float:
        try:
            mus = self.counts(x)
        except (FloatingPointError, OverflowError):
            return 1e300
        val = sum(st(mu) for st, mu in zip(self.stats, mus, strict=True))
        return float(val) if np.isfinite(val) else 1e300


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = x.size
    H = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i + 1, n):
            ej = np.zeros(n)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * h[i] * h[j]
            )
    return H


def fit_builtin(data: list[FitData], model: SpectralModel, stat: str) -> FitResult:
    """Minimise the statistic over the model's parameters (see module docstring)."""
    from scipy.optimize import minimize

    obj = _Objective(model, data, stat)
    ns = obj.n_shape
    x0 = np.array([*model.start, 0.0, *np.zeros(len(data) - 1)])
    # start K from the net counts of the first data set
    pred = obj.counts(x0)[0].sum()
    net = max(float(np.sum(data[0].S - data[0].alpha * data[0].B)), 1.0)
    x0[ns] = np.log(net / max(pred, 1e-300))
    for j in range(1, len(data)):
        pj = obj.counts(x0)[j].sum()
        x0[ns + j] = np.log(max(float(np.sum(data[j].S - data[j].alpha * data[j].B)), 1.0) / max(pj, 1e-300))
    bounds = [*model.bounds, (-60.0, 60.0), *[(-10.0, 10.0)] * (len(data) - 1)]
    opts = {"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-6}
    best = minimize(obj, x0, method="L-BFGS-B", bounds=bounds, options=opts)
    if not best.success:  # a derivative-free polish when the gradient method gave up
        nm = minimize(
            obj, best.x, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-8, "maxiter": 8000}
        )
        if nm.fun < best.fun:
            best = minimize(obj, nm.x, method="L-BFGS-B", bounds=bounds, options=opts)
            best = best if best.fun <= nm.fun else nm
    x = np.asarray(best.x, float)
    # errors in natural units (K and C_j, not their logs), from the curvature of the statistic
    nat = x.copy()
    nat[ns:] = np.exp(x[ns:])
    nat[ns] = np.exp(obj.ln_norm(x))

    def f_nat(v):
        y = v.copy()
        if np.any(y[ns:] <= 0):
            return 1e300
        y[ns:] = np.log(y[ns:])
        y[ns] -= v[obj.gi] * obj.ln_pivot
        return obj(y)

    h = 1e-4 * np.maximum(np.abs(nat), 1e-3)
    H = _hessian(f_nat, nat, h)
    try:
        cov = 2.0 * np.linalg.inv(H)
        err = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        err = np.full(nat.size, np.nan)
    params = {name: (float(nat[i]), float(err[i])) for i, name in enumerate(model.shape_names)}
    params["norm"] = (float(nat[ns]), float(err[ns]))
    cross = [(d.files.label, float(nat[ns + j]), float(err[ns + j])) for j, d in enumerate(data) if j > 0]
    n_free = ns + 1 + len(data) - 1
    return FitResult(
        model.name,
        stat,
        "builtin",
        float(best.fun),
        int(sum(d.n_groups for d in data) - n_free),
        params,
        [d.files.band for d in data],
        [d.files for d in data],
        cross,
        data,
    )


def fit_spectra(
    datasets: Sequence[DataFiles],
    model: str = "powerlaw",
    stat: str = "wstat",
    backend: str = "auto",
    group_min_counts: int | None = None,
) -> FitResult:
    """Fit one or several data sets (a joint fit: common shape, free cross-normalisations).

    Parameters
    ----------
    datasets
        Files and band (keV) of each data set; the first one's normalisation is ``norm``.
    model
        ``powerlaw``, ``tbabs*powerlaw`` or ``cutoffpl``.
    stat
        ``cstat``, ``wstat``, ``pgstat`` or ``chi2`` (chi2 groups to 20 counts unless the spectrum
        has a GROUPING column or ``group_min_counts`` is given).
    backend
        ``auto`` (Sherpa when installed, the built-in fitter otherwise; built-in for ``pgstat``),
        ``sherpa`` or ``builtin``.
    """
    if stat not in fit_stats.STATISTICS:
        raise ValueError(f"unknown statistic {stat!r}: expected {', '.join(fit_stats.STATISTICS)}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected {', '.join(BACKENDS)}")
    if not datasets:
        raise ValueError("no data set to fit")
    m = get_model(model)
    if stat == "chi2" and group_min_counts is None:
        group_min_counts = 20
    loaded = [load_data(f, group_min_counts) for f in datasets]
    data = [x[0] for x in loaded]
    for d in data:
        if stat == "chi2" and d.has_background is False and np.any(d.var_s <= 1e-12):
            from .ogip import OGIPError

            raise OGIPError(f"{d.files.spectrum}: chi2 needs counts in every group; group the channels")
    use = backend
    if backend == "auto":
        use = "sherpa" if have_sherpa() and stat != "pgstat" else "builtin"
    if use == "sherpa":
        if stat == "pgstat":
            raise ValueError("Sherpa has no PG-statistic (pgstat): use --backend builtin, or wstat/chi2")
        if not have_sherpa():
            raise ValueError("Sherpa is not installed: use --backend builtin (or install the peers extra)")
        from .fit_sherpa import fit_with_sherpa

        return fit_with_sherpa(data, m, stat, grouped=group_min_counts is not None)
    return fit_builtin(data, m, stat)
