"""Iterative reconstruction: SIRT and CGLS with a matched projector pair.

The projector :func:`.projectors.project` and back-projector :func:`backproject_adjoint`
are exact adjoints (pixel-driven, linear interpolation), so CGLS converges to
the least-squares solution. ``nonnegative`` clips after every iteration (for
CGLS the conjugate directions are then restarted, i.e. projected CGLS).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.errors import Cancelled
from .projectors import backproject, project


def backproject_adjoint(sino: Any, theta: np.ndarray, center: float, n: int, xp: Any = np) -> Any:
    """Adjoint of :func:`project`: (slices, angles, ndet) -> (slices, n, n), unweighted."""
    return backproject(sino, theta, center, n, 1.0, xp)


def sirt(
    sino: Any,
    theta: np.ndarray,
    center: float,
    iterations: int = 50,
    nonnegative: bool = True,
    xp: Any = np,
    progress: Callable[[float, float, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Any:
    """SIRT: ``x += C A^T R (b - A x)`` with R, C the inverse row and column sums.

    Parameters
    ----------
    sino : float32 (slices, angles, ndet)
    theta : radians (angles,)
    center : detector pixels

    Returns
    -------
    float32 (slices, ndet, ndet)
    """
    ns, na, nd = sino.shape
    n = nd
    ones_img = xp.ones((1, n, n), xp.float32)
    row = project(ones_img, theta, center, nd, xp)
    R = xp.where(row > 1e-6, 1.0 / xp.maximum(row, 1e-6), 0.0).astype(xp.float32)
    col = backproject_adjoint(xp.ones((1, na, nd), xp.float32), theta, center, n, xp)
    C = xp.where(col > 1e-6, 1.0 / xp.maximum(col, 1e-6), 0.0).astype(xp.float32)
    x = xp.zeros((ns, n, n), xp.float32)
    for it in range(iterations):
        _check(cancelled)
        r = (sino - project(x, theta, center, nd, xp)) * R
        x += C * backproject_adjoint(r, theta, center, n, xp)
        if nonnegative:
            xp.maximum(x, 0, out=x)
        if progress:
            progress(it + 1, iterations, f"SIRT iteration {it + 1}/{iterations}")
    return x


def cgls(
    sino: Any,
    theta: np.ndarray,
    center: float,
    iterations: int = 20,
    nonnegative: bool = False,
    xp: Any = np,
    progress: Callable[[float, float, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Any:
    """Conjugate-gradient least squares on ``min |A x - b|^2`` (per slice batch).

    With ``nonnegative`` the iterate is clipped and the search direction restarted
    after every step (projected CGLS).

    Returns
    -------
    float32 (slices, ndet, ndet)
    """
    ns, na, nd = sino.shape
    n = nd
    x = xp.zeros((ns, n, n), xp.float32)
    r = sino.astype(xp.float32, copy=True)
    s = backproject_adjoint(r, theta, center, n, xp)
    p = s.copy()
    gamma = _sq(s, xp)
    for it in range(iterations):
        _check(cancelled)
        q = project(p, theta, center, nd, xp)
        qq = _sq(q, xp)
        alpha = xp.where(qq > 0, gamma / xp.where(qq > 0, qq, 1), 0).astype(xp.float32)
        x += alpha[:, None, None] * p
        if nonnegative:
            xp.maximum(x, 0, out=x)
            r = sino - project(x, theta, center, nd, xp)
            s = backproject_adjoint(r, theta, center, n, xp)
            p = s.copy()
            gamma = _sq(s, xp)
        else:
            r -= alpha[:, None, None] * q
            s = backproject_adjoint(r, theta, center, n, xp)
            g2 = _sq(s, xp)
            beta = xp.where(gamma > 0, g2 / xp.where(gamma > 0, gamma, 1), 0).astype(xp.float32)
            p = s + beta[:, None, None] * p
            gamma = g2
        if progress:
            progress(it + 1, iterations, f"CGLS iteration {it + 1}/{iterations}")
    return x


def _sq(a: Any, xp: Any) -> Any:
    return (a.astype(xp.float64) ** 2).sum(axis=(1, 2))


def _check(cancelled: Callable[[], bool] | None) -> None:
    if cancelled is not None and cancelled():
        raise Cancelled("reconstruction cancelled by the user")
