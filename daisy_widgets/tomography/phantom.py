"""Synthetic parallel-beam scans of a 3-D Shepp-Logan phantom, projected analytically.

The phantom is the modified 3-D Shepp-Logan of ten ellipsoids (Kak & Slaney,
Toft), with every ellipsoid rotated about the vertical axis only, so each
horizontal slice is a set of ellipses whose line integrals are exact. Any
size, any angles, optional axis offset and per-projection jitter (evaluated
exactly, not by resampling), flats and darks, Poisson noise, zingers and
miscalibrated detector pixels (ring artefacts); each effect is on/off and seeded.

Units: the phantom's values are attenuation per pixel (``mu_max`` for the
outer shell); projections are line integrals in the same unit x pixel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: (value, a, b, c, x0, y0, z0, phi in degrees) in units of the half-width
SHEPP_LOGAN_3D = np.array(
    [
        [1.0, 0.6900, 0.920, 0.810, 0.00, 0.0000, 0.00, 0.0],
        [-0.8, 0.6624, 0.874, 0.780, 0.00, -0.0184, 0.00, 0.0],
        [-0.2, 0.1100, 0.310, 0.220, 0.22, 0.0000, 0.00, -18.0],
        [-0.2, 0.1600, 0.410, 0.280, -0.22, 0.0000, 0.00, 18.0],
        [0.1, 0.2100, 0.250, 0.410, 0.00, 0.3500, -0.15, 0.0],
        [0.1, 0.0460, 0.046, 0.050, 0.00, 0.1000, 0.25, 0.0],
        [0.1, 0.0460, 0.046, 0.050, 0.00, -0.1000, 0.25, 0.0],
        [0.1, 0.0460, 0.023, 0.050, -0.08, -0.6050, 0.00, 0.0],
        [0.1, 0.0230, 0.023, 0.020, 0.00, -0.6060, 0.00, 0.0],
        [0.1, 0.0230, 0.046, 0.020, 0.06, -0.6050, 0.00, 0.0],
    ]
)


def _slice_ellipses(z: float) -> list[tuple[float, float, float, float, float, float]]:
    """Ellipses (value, a, b, x0, y0, phi rad) cut by the plane at normalised height ``z``."""
    out = []
    for v, a, b, c, x0, y0, z0, phi in SHEPP_LOGAN_3D:
        t = (z - z0) / c
        if abs(t) < 1:
            r = np.sqrt(1 - t * t)
            out.append((v, a * r, b * r, x0, y0, np.deg2rad(phi)))
    return out


def _z_of_rows(rows: np.ndarray, height: int, size: int) -> np.ndarray:
    """Normalised height of detector rows (row 0 at the top), scaled like x and y."""
    return ((height - 1) / 2.0 - rows) / (size / 2.0)


def phantom_slices(
    size: int,
    rows: np.ndarray | list[int] | None = None,
    height: int | None = None,
    mu_max: float = 1.0,
    supersample: int = 2,
) -> np.ndarray:
    """Ground-truth phantom slices, float32 (len(rows), size, size), in attenuation per pixel.

    ``rows`` are detector rows of a detector ``height`` rows high (default: the middle row
    of a square detector). Pixel values are averaged over ``supersample``^2 points.
    """
    height = size if height is None else height
    rows = np.atleast_1d(np.asarray([height // 2] if rows is None else rows))
    ss = max(1, int(supersample))
    off = (np.arange(ss) + 0.5) / ss - 0.5
    c = (size - 1) / 2.0
    x = ((np.arange(size)[None, :, None] - c) + off[None, None, :]) / (size / 2.0)  # (1, size, ss)
    y = ((c - np.arange(size)[:, None, None]) - off[None, None, :]) / (size / 2.0)  # (size, 1, ss)
    X = x[:, :, :, None].repeat(1, axis=0)
    out = np.zeros((rows.size, size, size), np.float32)
    for k, z in enumerate(_z_of_rows(rows, height, size)):
        img = np.zeros((size, size, ss, ss))
        for v, a, b, x0, y0, phi in _slice_ellipses(float(z)):
            dx = X - x0  # (1, size, ss, 1)
            dy = y[:, :, None, :] - y0  # (size, 1, 1, ss)
            cp, sp = np.cos(phi), np.sin(phi)
            u = dx * cp + dy * sp
            w = -dx * sp + dy * cp
            img += v * ((u / a) ** 2 + (w / b) ** 2 <= 1)
        out[k] = img.mean(axis=(2, 3)) * mu_max
    return out


def project_phantom(
    size: int,
    theta: np.ndarray,
    rows: np.ndarray | list[int] | None = None,
    height: int | None = None,
    center: float | None = None,
    mu_max: float = 1.0,
    shifts: np.ndarray | None = None,
    supersample: int = 2,
) -> np.ndarray:
    """Exact line integrals of the phantom, float32 (len(rows), angles, size).

    Parameters
    ----------
    size
        Detector width = phantom width in pixels.
    theta
        Angles in radians.
    rows, height
        Detector rows to compute, of a detector ``height`` high (default square, middle row).
    center
        Rotation axis on the detector in pixels from the centre of the first pixel
        (default ``(size - 1) / 2``).
    shifts
        Optional per-projection motion (angles, 2) = (dy, dx) in pixels: the sample
        moved by ``dx`` along the detector and ``dy`` down.
    supersample
        Points averaged across each detector pixel (pixel integration).
    """
    theta = np.asarray(theta, float)
    height = size if height is None else height
    rows = np.atleast_1d(np.asarray([height // 2] if rows is None else rows))
    center = (size - 1) / 2.0 if center is None else float(center)
    na = theta.size
    sh = np.zeros((na, 2)) if shifts is None else np.asarray(shifts, float)
    ss = max(1, int(supersample))
    off = (np.arange(ss) + 0.5) / ss - 0.5
    u = np.arange(size)[None, :, None] + off[None, None, :]  # (1, size, ss)
    s = (u - center - sh[:, 1][:, None, None]) / (size / 2.0)  # (na, size, ss)
    ct, st = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    out = np.zeros((rows.size, na, size), np.float32)
    scale = size / 2.0 * mu_max
    for k, r in enumerate(rows):
        acc = np.zeros((na, size, ss))
        zr = _z_of_rows(r - sh[:, 0], height, size)  # (na,)
        for v, a, b, c, x0, y0, z0, phi in SHEPP_LOGAN_3D:
            t = (zr - z0) / c
            inside = np.abs(t) < 1
            if not inside.any():
                continue
            rr = np.sqrt(np.clip(1 - t * t, 0, None))[:, None, None]
            A, B = a * rr, b * rr
            ph = np.deg2rad(phi)
            a2 = (A * np.cos(theta[:, None, None] - ph)) ** 2 + (B * np.sin(theta[:, None, None] - ph)) ** 2
            sp = s - (x0 * ct + y0 * st)
            d = a2 - sp * sp
            with np.errstate(invalid="ignore", divide="ignore"):
                chord = np.where(
                    (d > 0) & (a2 > 0), 2 * A * B * np.sqrt(np.clip(d, 0, None)) / np.where(a2 > 0, a2, 1), 0
                )
            acc += v * chord * inside[:, None, None]
        out[k] = acc.mean(axis=2) * scale
    return out


@dataclass
class ScanOptions:
    """What goes into a synthetic scan; every effect can be switched off.

    Attributes
    ----------
    size : detector width and phantom width (px)
    height : detector rows (default ``size``; fewer rows make a thin slab through the middle)
    n_angles : projections over ``angle_range`` degrees
    mu_max : attenuation per pixel of the phantom's outer shell (max ~ 1.4 * mu_max * size / 2 line integral)
    center_offset : rotation axis offset from the detector middle (px)
    jitter : RMS of per-projection motion (px, both directions); 0 = off
    flux : photons per pixel in the flat field (Poisson noise); 0 = no noise
    n_flats, n_darks : number of flat and dark frames
    dark_level : mean dark counts
    zingers : fraction of projection pixels hit by zingers
    ring_pixels : number of detector columns with a gain differing between flats and projections
    seed : random seed
    """

    size: int = 128
    height: int | None = None
    n_angles: int = 180
    angle_range: float = 180.0
    mu_max: float | None = None
    center_offset: float = 0.0
    jitter: float = 0.0
    flux: float = 20000.0
    n_flats: int = 10
    n_darks: int = 5
    dark_level: float = 100.0
    zingers: float = 0.0
    ring_pixels: int = 0
    seed: int = 0
    supersample: int = 2
    extra: dict = field(default_factory=dict)


@dataclass
class SyntheticScan:
    """A simulated scan and its ground truth."""

    projections: np.ndarray  # (angles, rows, cols) float32 counts
    flats: np.ndarray  # (n_flats, rows, cols)
    darks: np.ndarray  # (n_darks, rows, cols)
    theta_deg: np.ndarray  # (angles,)
    center: float  # true rotation axis (px)
    shifts: np.ndarray  # (angles, 2) true motion (dy, dx) px
    line_integrals: np.ndarray  # (rows, angles, cols) noise-free
    mu_max: float
    options: ScanOptions


def simulate_scan(opts: ScanOptions | None = None, **kw) -> SyntheticScan:
    """Simulate a Data Exchange-like scan (counts) from the phantom; see :class:`ScanOptions`."""
    o = opts or ScanOptions(**kw)
    rng = np.random.default_rng(o.seed)
    size = o.size
    height = o.height or size
    mu = o.mu_max if o.mu_max is not None else 2.0 / size  # max line integral ~ 1.8
    theta_deg = np.linspace(0.0, o.angle_range, o.n_angles, endpoint=False)
    theta = np.deg2rad(theta_deg)
    center = (size - 1) / 2.0 + o.center_offset
    shifts = rng.normal(0, o.jitter, (o.n_angles, 2)) if o.jitter > 0 else np.zeros((o.n_angles, 2))
    rows = np.arange(height)
    li = project_phantom(
        size,
        theta,
        rows=rows,
        height=height,
        center=center,
        mu_max=mu,
        shifts=shifts,
        supersample=o.supersample,
    )  # (rows, angles, cols)
    flat_field = 1.0 + 0.05 * np.sin(np.linspace(0, 3 * np.pi, size))[None, :] * np.ones((height, 1))
    i0 = (o.flux if o.flux > 0 else 20000.0) * flat_field
    gain_proj = np.ones((height, size))
    if o.ring_pixels:
        cols = rng.choice(np.arange(size // 8, size - size // 8), size=o.ring_pixels, replace=False)
        gain_proj[:, cols] *= rng.choice([0.9, 0.95, 1.05, 1.1], size=o.ring_pixels)
    expected = i0[None] * gain_proj[None] * np.exp(-li.transpose(1, 0, 2))  # (angles, rows, cols)
    flats = np.repeat(i0[None], o.n_flats, axis=0)
    if o.flux > 0:
        expected = rng.poisson(expected).astype(np.float64)
        flats = rng.poisson(flats).astype(np.float64)
    darks = (
        rng.poisson(o.dark_level, (o.n_darks, height, size))
        if o.flux > 0
        else np.full((o.n_darks, height, size), o.dark_level)
    ).astype(np.float64)
    proj = expected + o.dark_level
    flats = flats + o.dark_level
    if o.zingers > 0:
        hit = rng.random(proj.shape) < o.zingers
        proj[hit] += rng.uniform(2, 5, hit.sum()) * (o.flux or 20000.0)
    return SyntheticScan(
        proj.astype(np.float32),
        flats.astype(np.float32),
        darks.astype(np.float32),
        theta_deg,
        center,
        shifts,
        li,
        mu,
        o,
    )


def write_sample_scan(
    path: str | os.PathLike,
    size: int = 256,
    n_angles: int = 360,
    seed: int = 0,
    height: int | None = 16,
    *,
    noise: bool = True,
    zingers: bool = True,
    rings: bool = True,
    center_offset: float = 3.5,
    jitter: float = 0.0,
) -> Path:
    """Write a synthetic Data Exchange scan (the ``daisy data sample`` tomography file).

    Parameters
    ----------
    path
        Output ``.h5`` file (written atomically).
    size
        Detector width in pixels.
    n_angles
        Projections over 180 degrees.
    seed
        Random seed (noise, zingers, rings, jitter).
    height
        Detector rows (slices); default 16, ``None`` for a square detector.
    noise, zingers, rings
        Poisson noise; zingers (1e-4 of pixels); 6 miscalibrated columns.
    center_offset
        Rotation axis offset from the detector middle, pixels.
    jitter
        Per-projection motion RMS in pixels.

    Returns
    -------
    Path of the written file. The true centre and the phantom's ``mu_max`` are
    stored as attributes of ``/exchange`` (``true_center``, ``mu_max``).
    """
    from .io import write_data_exchange

    opts = ScanOptions(
        size=size,
        height=height,
        n_angles=n_angles,
        seed=seed,
        flux=20000.0 if noise else 0.0,
        zingers=1e-4 if zingers else 0.0,
        ring_pixels=6 if rings else 0,
        center_offset=center_offset,
        jitter=jitter,
    )
    scan = simulate_scan(opts)
    return write_data_exchange(
        path,
        scan.projections,
        scan.flats,
        scan.darks,
        scan.theta_deg,
        metadata={
            "sample_name": "Shepp-Logan 3D phantom",
            "energy": 25.0,
            "pixel_size": 1.0e-6,
            "title": f"daisy synthetic scan {size}x{opts.height or size}, {n_angles} angles",
        },
        attrs={
            "true_center": scan.center,
            "mu_max": scan.mu_max,
            "seed": seed,
            "center_offset": center_offset,
            "jitter_rms": jitter,
        },
    )
