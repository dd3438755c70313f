"""Motion correction by re-projection (projection matching), iterated.

Each iteration reconstructs the volume from the current, corrected
projections (FBP), re-projects it, and registers every measured projection on
its re-projection by phase correlation with sub-pixel peak fitting. The
estimated motion accumulates over the iterations. The mean shift is removed
(the mean horizontal shift cannot be told apart from the rotation centre, the
mean vertical shift from the sample's position), and so is the horizontal
component ``a cos(theta) + b sin(theta)``, which equals a translation of the object.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.errors import Cancelled, ValidationError


def _subpixel_peak(c: np.ndarray) -> tuple[float, float]:
    """Position of the maximum of a periodic correlation map, parabolic refinement in each axis."""
    ny, nx = c.shape
    iy, ix = np.unravel_index(int(np.argmax(c)), c.shape)

    def refine(m1: float, m0: float, p1: float) -> float:
        if min(m1, m0, p1) > 0:  # the low-passed peak is Gaussian: a parabola through the logs is exact
            m1, m0, p1 = np.log(m1), np.log(m0), np.log(p1)
        den = m1 - 2 * m0 + p1
        return 0.5 * (m1 - p1) / den if den < 0 else 0.0

    dy = refine(c[(iy - 1) % ny, ix], c[iy, ix], c[(iy + 1) % ny, ix]) if ny > 2 else 0.0
    dx = refine(c[iy, (ix - 1) % nx], c[iy, ix], c[iy, (ix + 1) % nx])
    py = iy + dy
    px = ix + dx
    py = py - ny if py > ny / 2 else py
    px = px - nx if px > nx / 2 else px
    return float(py), float(px)


def register(moving: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Shift (dy, dx) in pixels such that ``moving(y, x) ~ reference(y - dy, x - dx)`` (phase correlation)."""
    a = np.fft.fft2(moving)
    b = np.fft.fft2(reference)
    r = a * np.conj(b)
    r /= np.abs(r) + 1e-12 * np.abs(r).max()
    # mild low-pass weighting makes the peak smooth enough for the parabolic fit
    fy = np.fft.fftfreq(moving.shape[0])[:, None]
    fx = np.fft.fftfreq(moving.shape[1])[None, :]
    r *= np.exp(-(fy**2 + fx**2) / (2 * 0.12**2))
    return _subpixel_peak(np.real(np.fft.ifft2(r)))


def shift_projections(projections: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Move each projection (angles, rows, cols) by ``-shifts[k]`` = (-dy, -dx) (Fourier shift, edges padded)."""
    na, nr, nc = projections.shape
    pr, pc = nr // 2, nc // 2
    padded = np.pad(projections, ((0, 0), (pr, pr), (pc, pc)), mode="edge")
    fy = np.fft.fftfreq(padded.shape[1])[None, :, None]
    fx = np.fft.fftfreq(padded.shape[2])[None, None, :]
    ph = np.exp(2j * np.pi * (fy * shifts[:, 0][:, None, None] + fx * shifts[:, 1][:, None, None]))
    out = np.real(np.fft.ifft2(np.fft.fft2(padded, axes=(1, 2)) * ph, axes=(1, 2)))
    return out[:, pr : pr + nr, pc : pc + nc].astype(np.float32)


def align_projections(
    projections: np.ndarray,
    theta: np.ndarray,
    center: float | None = None,
    iterations: int = 10,
    vertical: bool = True,
    tol: float = 0.01,
    progress: Callable[[float, float, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    gain: float = 1.0,
    reference: str = "hann",
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate and correct per-projection motion.

    Parameters
    ----------
    projections
        (angles, rows, cols) line integrals (minus-log data).
    theta
        Angles in radians.
    center
        Rotation axis (detector pixels); default the detector middle.
    iterations
        Maximum number of reconstruct/re-project/register rounds.
    vertical
        Also estimate vertical motion (needs several rows with vertical structure).
    tol
        Stop when the largest update is below this many pixels.
    gain
        Step on the horizontal updates (1: plain; up to ~1.5 converges faster, more diverges).
    reference
        How the reference volume is made each round: an FBP filter name (``"hann"``,
        non-negative FBP) or ``"sirt"`` (20 non-negative SIRT iterations, slower).

    Returns
    -------
    (aligned projections float32 (angles, rows, cols), shifts (angles, 2) = (dy, dx) in pixels,
    the estimated motion with zero mean).
    """
    from .filters import filter_sinogram
    from .geometry import angle_weight
    from .iterative import sirt
    from .projectors import backproject, project

    p = np.asarray(projections, np.float32)
    th = np.asarray(theta, np.float64).ravel()
    if p.ndim != 3 or th.size != p.shape[0]:
        raise ValidationError(
            "tomo.align",
            {"projections": [f"expected (angles, rows, cols) with {th.size} angles; got shape {p.shape}"]},
        )
    na, nr, nc = p.shape
    c = (nc - 1) / 2.0 if center is None else float(center)
    total = np.zeros((na, 2))
    current = p
    basis = np.stack([np.ones(na), np.cos(th), np.sin(th)], axis=1)
    w = angle_weight(th)
    for it in range(iterations):
        if cancelled is not None and cancelled():
            raise Cancelled("alignment cancelled by the user")
        if reference == "sirt":
            vol = sirt(current.transpose(1, 0, 2), th, c, 20, True)
        else:
            q = filter_sinogram(current.transpose(1, 0, 2), reference)  # (rows, angles, cols)
            vol = backproject(q, th, c, nc, w)
            np.maximum(vol, 0, out=vol)  # the prior that makes the reference better than the data
        reproj = project(vol, th, c, nc).transpose(1, 0, 2)  # (angles, rows, cols)
        upd = np.array([register(current[k], reproj[k]) for k in range(na)])
        if not vertical or nr < 4:
            upd[:, 0] = 0.0
        upd -= upd.mean(axis=0)
        total += upd * np.array([1.0, gain])
        total -= total.mean(axis=0)
        # horizontal shifts a cos(theta) + b sin(theta) equal a translation of the object: not observable
        total[:, 1] -= basis @ np.linalg.lstsq(basis, total[:, 1], rcond=None)[0]
        current = shift_projections(p, total)
        if progress:
            progress(
                it + 1,
                iterations,
                f"alignment iteration {it + 1}/{iterations}, max update {np.abs(upd).max():.2f} px",
            )
        if np.abs(upd).max() < tol:
            break
    return current, total
