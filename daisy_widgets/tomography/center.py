"""Rotation-centre finding, sub-pixel, in the pixel convention of :func:`reconstruct`.

The centre is the detector position of the rotation axis in pixels from the
centre of the first detector pixel. Independent methods:

* ``"vo"``: Vo et al. (2014) Fourier metric: the sinogram stitched with its
  mirrored copy (the 180-360 degree half for a trial centre) has no energy in
  a double-wedge region of its 2-D spectrum when the centre is right;
  coarse search on a downsampled sinogram, fine search, parabolic refinement.
* ``"com"``: the centre of mass of each projection moves on a sinusoid
  ``c + a cos(theta) + b sin(theta)``; a linear least-squares fit gives ``c``
  (needs the object inside the field of view).
* ``"entropy"``: image-quality sweep: reconstruct at trial centres and take the
  one minimising the histogram entropy of the slice (parabolic refinement).
* ``"auto"``: ``"vo"``.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import ValidationError

METHODS = ("auto", "vo", "com", "entropy")


def _check(sinogram: np.ndarray, theta: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    problems: dict[str, list[str]] = {}
    s = np.asarray(sinogram, np.float32)
    th = np.asarray(theta, np.float64).ravel()
    if s.ndim == 3:
        s = s.mean(axis=0)
    if s.ndim != 2:
        problems["sinogram"] = [f"expected (angles, detector); got shape {s.shape}"]
    elif th.size != s.shape[0]:
        problems["theta"] = [f"expected {s.shape[0]} angles in radians; got {th.size}"]
    elif not np.isfinite(s).all():
        problems["sinogram"] = ["expected finite values; found NaN or inf"]
    if method not in METHODS:
        problems["method"] = [f"expected one of {', '.join(METHODS)}; got {method!r}"]
    if problems:
        raise ValidationError("find_center", problems)
    return s, th


def find_center(
    sinogram: np.ndarray,
    theta: np.ndarray,
    method: str = "auto",
    *,
    search: tuple[float, float] | None = None,
) -> float:
    """Rotation axis position of a parallel-beam sinogram.

    Parameters
    ----------
    sinogram
        (angles, detector) line integrals (minus-log data); a (slices, angles, detector)
        stack is averaged over the slices.
    theta
        Angles in radians covering 180 degrees (``vo``) or any range (``com``, ``entropy``).
    method
        ``"auto"`` (= ``"vo"``), ``"vo"``, ``"com"`` or ``"entropy"``.
    search
        (low, high) detector pixels to search (default: the detector middle +- width / 8).

    Returns
    -------
    float: the axis in detector pixels from the centre of the first pixel.
    """
    s, th = _check(sinogram, theta, method)
    nd = s.shape[1]
    mid = (nd - 1) / 2.0
    lo, hi = search if search is not None else (mid - nd / 8.0, mid + nd / 8.0)
    if method in ("auto", "vo"):
        return center_vo(s, lo, hi)
    if method == "com":
        return center_com(s, th)
    return center_entropy(s, th, lo, hi)


# ----------------------------------------------------------------------------- Vo
def _wedge_mask(height: int, width: int, radius: float, drop: int) -> np.ndarray:
    du = 1.0 / width
    dv = (height - 1.0) / (height * 2.0 * math.pi)
    ndrop = min(drop, height // 2)
    yc = int(math.ceil((height - 1) / 2.0))
    xc = int(math.ceil((width - 1) / 2.0))
    mask = np.zeros((height, width), np.float32)
    for i in range(height):
        num = int(math.ceil(((i - yc) * dv / radius) / du))
        p1, p2 = np.clip(np.sort((-num + xc, num + xc)), 0, width - 1)
        mask[i, p1 : p2 + 1] = 1.0
    mask[yc - ndrop : yc + ndrop + 1, :] = 0.0
    mask[:, xc - 1 : xc + 2] = 0.0
    return mask


def _vo_metrics(sino: np.ndarray, centers: np.ndarray, ratio: float = 0.5, drop: int = 20) -> np.ndarray:
    from scipy import ndimage as ndi

    na, nd = sino.shape
    flip = sino[:, ::-1]
    mask = _wedge_mask(2 * na, nd, 0.5 * ratio * nd, drop)
    out = np.empty(centers.size)
    for k, c in enumerate(centers):
        shift = 2.0 * c - (nd - 1)
        if float(shift).is_integer():
            mirrored = np.roll(flip, int(shift), axis=1)
            if shift > 0:
                mirrored[:, : int(shift)] = flip[:, :1]
            elif shift < 0:
                mirrored[:, int(shift) :] = flip[:, -1:]
        else:
            mirrored = ndi.shift(flip, (0, shift), order=3, prefilter=True, mode="nearest")
        mat = np.vstack((sino, mirrored))
        out[k] = np.mean(np.abs(np.fft.fftshift(np.fft.fft2(mat))) * mask)
    return out


def _parabola(x: np.ndarray, y: np.ndarray, i: int) -> float:
    if 0 < i < len(x) - 1:
        y0, y1, y2 = y[i - 1], y[i], y[i + 1]
        den = y0 - 2 * y1 + y2
        if den > 0:
            return float(x[i] + 0.5 * (y0 - y2) / den * (x[1] - x[0]))
    return float(x[i])


def center_vo(sino: np.ndarray, lo: float, hi: float, step: float = 0.25, radius: float = 2.0) -> float:
    """Vo's Fourier-metric search between ``lo`` and ``hi`` detector pixels (sub-pixel)."""
    from scipy import ndimage as ndi

    na, nd = sino.shape
    # light smoothing along the angles (less for coarse angular sampling, where it would blur)
    den = ndi.gaussian_filter(sino, (min(3.0, na / 300.0), 0), mode="reflect")
    # coarse: integer shifts of the mirrored sinogram, on a sinogram with <= 360 rows and <= 640 columns
    dr = max(1, na // 360)
    dc = max(1, nd // 640)
    small = den[::dr]
    if dc > 1:
        small = small[:, : (nd // dc) * dc].reshape(small.shape[0], nd // dc, dc).mean(axis=2)
    ns = small.shape[1]
    # centres whose mirror shift 2c - (n-1) is an even integer on the small grid (1 px steps)
    c_small = np.arange(math.floor(lo / dc), math.ceil(hi / dc) + 1) + ((ns - 1) % 2) / 2.0
    c_small = c_small[(c_small > 0) & (c_small < ns - 1)]
    m = _vo_metrics(small, c_small)
    coarse = c_small[int(np.argmin(m))] * dc + (dc - 1) / 2.0
    fine = np.arange(coarse - radius, coarse + radius + step / 2, step)
    fine = fine[(fine > 0) & (fine < nd - 1)]
    mf = _vo_metrics(den, fine)
    return _parabola(fine, mf, int(np.argmin(mf)))


# ----------------------------------------------------------------------------- centre of mass
def center_com(sino: np.ndarray, theta: np.ndarray) -> float:
    """Least-squares sinusoid fit of the projections' centres of mass (sub-pixel)."""
    s = np.clip(sino.astype(np.float64), 0, None)
    mass = s.sum(axis=1)
    ok = mass > 1e-6 * max(mass.max(), 1e-30)
    u = np.arange(s.shape[1])
    com = (s * u).sum(axis=1)[ok] / mass[ok]
    A = np.stack([np.ones(ok.sum()), np.cos(theta[ok]), np.sin(theta[ok])], axis=1)
    coef, *_ = np.linalg.lstsq(A, com, rcond=None)
    return float(coef[0])


# ----------------------------------------------------------------------------- quality sweep
def _entropy(img: np.ndarray) -> float:
    lo, hi = np.percentile(img, [0.5, 99.5])
    h, _ = np.histogram(np.clip(img, lo, hi), bins=256, range=(lo, hi + 1e-12))
    p = h[h > 0] / h.sum()
    return float(-(p * np.log(p)).sum())


def center_entropy(sino: np.ndarray, theta: np.ndarray, lo: float, hi: float) -> float:
    """Image-quality sweep: minimum histogram entropy of FBP slices (coarse 1 px, fine 0.25 px)."""
    from .fbp import fbp
    from .geometry import circle_mask

    na, nd = sino.shape
    # reconstruct on a detector cropped symmetrically... simpler: whole detector, circle-masked
    mask = circle_mask(nd, 0.9)

    def metric(cs: np.ndarray) -> np.ndarray:
        out = []
        for c in cs:
            img = fbp(sino[None], theta, float(c), "hann")[0]
            out.append(_entropy(img[mask]))
        return np.asarray(out)

    coarse = np.arange(math.ceil(lo), math.floor(hi) + 1, max(1, int((hi - lo) // 64)), dtype=float)
    mc = metric(coarse)
    c0 = coarse[int(np.argmin(mc))]
    step = coarse[1] - coarse[0] if coarse.size > 1 else 1.0
    mid = np.arange(c0 - step, c0 + step + 0.5, max(step / 4, 1.0))
    mm = metric(mid)
    c1 = mid[int(np.argmin(mm))]
    fine = np.arange(c1 - 1.0, c1 + 1.0 + 0.125, 0.25)
    mf = metric(fine)
    return _parabola(fine, mf, int(np.argmin(mf)))
