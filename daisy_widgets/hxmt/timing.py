"""Timing: barycentric correction (astropy), epoch folding, Z^2_n search and power spectrum.

Hot loops are plain numpy (``bincount``/vectorised sums) so 10^7 events fold in
well under a second.
"""

from __future__ import annotations

import numpy as np

from .mission import MJDREFF, MJDREFI, mission_time_to_mjd

C_KM_S = 299792.458


def barycentric_delay(
    t: np.ndarray, ra: float, dec: float, orbit_time: np.ndarray, orbit_xyz: np.ndarray, step: float = 20.0
) -> np.ndarray:
    """Seconds to add to spacecraft TT mission times to get barycentric TDB mission times.

    ``t_bary = t + delay``: Roemer delay of the satellite (Earth's barycentric
    position from astropy's built-in ephemeris plus the satellite's geocentric
    position from the orbit file) towards the source, plus TDB-TT. Computed on a
    grid every ``step`` seconds and interpolated.

    Parameters
    ----------
    t
        Mission times (s, TT), any shape.
    ra, dec
        Source position (deg, ICRS).
    orbit_time, orbit_xyz
        Orbit samples: times (s), shape (n,), and J2000 positions (km), shape (n, 3).
    """
    from astropy.time import Time

    from .orbit import unit_vector

    t = np.asarray(t, dtype=float)
    if t.size == 0:
        return np.zeros_like(t)
    grid = np.arange(t.min() - step, t.max() + 2 * step, step)
    tt = Time(MJDREFI, MJDREFF + grid / 86400.0, format="mjd", scale="tt")
    tdb = tt.tdb
    earth = earth_barycentric_km(tt, tdb)  # (n, 3)
    sat = np.stack([np.interp(grid, orbit_time, orbit_xyz[:, k]) for k in range(3)], axis=-1)
    src = unit_vector(ra, dec)
    roemer = (earth + sat) @ src / C_KM_S
    tdb_tt = ((tdb.jd1 - tt.jd1) + (tdb.jd2 - tt.jd2)) * 86400.0
    return np.interp(t, grid, roemer + tdb_tt)


def earth_barycentric_km(tt, tdb) -> np.ndarray:
    """Earth's barycentric position (km, ICRS), shape (n, 3), at the times ``tt`` (the same
    instants ``tdb`` in TDB; astropy ``Time``, shape (n,)).

    ``astropy.coordinates.get_body_barycentric("earth", tt).xyz.to_value("km").T``, bit for bit.
    When this process has not imported ``astropy.coordinates`` (so no other solar-system
    ephemeris can have been chosen there), astropy's built-in ephemeris is called as astropy calls
    it (``erfa.epv00`` at the TDB Julian dates, AU to km by astropy's scale) without importing
    ``astropy.coordinates`` (0.1-0.2 s and 50 MB in a fresh process: a batch run's share).
    """
    import sys

    if "astropy.coordinates" in sys.modules:
        from astropy.coordinates import get_body_barycentric

        return get_body_barycentric("earth", tt).xyz.to_value("km").T
    return earth_builtin_km(tdb)


def earth_builtin_km(tdb) -> np.ndarray:
    """Earth's barycentric position (km), shape (n, 3), from astropy's built-in ephemeris (ERFA
    ``epv00``) at the times ``tdb`` (astropy ``Time`` in TDB, shape (n,)), computed as astropy does."""
    import astropy.units as u
    import erfa

    _, earth_pv = erfa.epv00(tdb.jd1, tdb.jd2)
    # as CartesianRepresentation(p, unit=au, xyz_axis=-1).xyz.to_value("km").T: x, y, z first, scaled
    return (np.moveaxis(earth_pv["p"], -1, 0) * u.au.to(u.km)).T


def fold_events(
    times: np.ndarray, frequency: float, nbin: int = 32, epoch: float | None = None, fdot: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Pulse profile of event times (s): phase bin centres (nbin,) and counts (nbin,)."""
    t = np.asarray(times, dtype=float)
    t0 = t[0] if epoch is None and t.size else (epoch or 0.0)
    from .event_kernels import fold_counts

    counts = fold_counts(t, t0, frequency, fdot, nbin).astype(float)
    return (np.arange(nbin) + 0.5) / nbin, counts


def fold_with_ephemeris(times: np.ndarray, ephemeris, nbin: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Pulse profile of barycentric (TDB mission s) event times with an :class:`~.ephemeris.Ephemeris`
    (F0, F1, F2, ... at PEPOCH): phase bin centres (nbin,) and counts (nbin,)."""
    phase = ephemeris.phase(times)
    phase -= np.floor(phase)
    idx = np.minimum((phase * nbin).astype(np.int64), nbin - 1)
    counts = np.bincount(idx, minlength=nbin).astype(float)
    return (np.arange(nbin) + 0.5) / nbin, counts


def z2_statistic(
    times: np.ndarray,
    frequencies: np.ndarray,
    nharm: int = 2,
    epoch: float | None = None,
    chunk: int = 2_000_000,
) -> np.ndarray:
    """Z^2_n (Buccheri et al. 1983) of event times at each trial frequency, shape (len(frequencies),).

    Uses the harmonic recurrence (one sin/cos per event and frequency), in chunks of events.
    """
    t = np.asarray(times, dtype=float)
    n = t.size
    freqs = np.atleast_1d(np.asarray(frequencies, dtype=float))
    if n == 0:
        return np.zeros_like(freqs)
    t0 = t[0] if epoch is None else epoch
    out = np.empty(freqs.size)
    for i, f in enumerate(freqs):
        cs = np.zeros(nharm)
        sn = np.zeros(nharm)
        for a in range(0, n, chunk):
            # 2 pi mod((t - t0) f, 1), in place (one chunk-sized temporary, not four)
            ph = t[a : a + chunk] - t0
            ph *= f
            np.mod(ph, 1.0, out=ph)
            ph *= 2 * np.pi
            c1, s1 = np.cos(ph), np.sin(ph)
            c, s = c1, s1  # never written in place
            for k in range(nharm):
                cs[k] += c.sum()
                sn[k] += s.sum()
                if k + 1 < nharm:
                    c, s = c * c1 - s * s1, s * c1 + c * s1
        out[i] = 2.0 / n * np.sum(cs**2 + sn**2)
    return out


def z2_binned(
    times: np.ndarray, frequencies: np.ndarray, nharm: int = 2, epoch: float | None = None, nbin: int = 64
) -> np.ndarray:
    """Z^2_n over many trial frequencies from one fold (fast; O(n_events + n_trials * n_segments)).

    Events are folded at the central trial frequency ``f0`` into ``nbin`` phase bins per time
    segment; a trial ``f0 + d`` shifts segment ``j`` by ``d * t_j`` cycles. Segments are short
    enough that the shift inside one is below 1/(8 n nbin) cycles, so values agree with
    :func:`z2_statistic` to about 1 % (phase-bin smoothing ``sinc(pi k / nbin)``).
    """
    t = np.asarray(times, dtype=float)
    freqs = np.atleast_1d(np.asarray(frequencies, dtype=float))
    if t.size == 0:
        return np.zeros_like(freqs)
    t0 = t[0] if epoch is None else epoch
    f0 = 0.5 * (freqs.min() + freqs.max())
    dmax = max(float(np.max(np.abs(freqs - f0))), 1e-12)
    span = float(t.max() - t0) + 1e-9
    seg = min(span, 1.0 / (8.0 * nharm * dmax))
    nseg = int(np.ceil(span / seg))
    seg = span / nseg
    # segment j and phase bin b of each event, with as few event-sized temporaries as can be
    dt = t - t0
    ph = dt * f0
    ph -= np.floor(ph)
    dt /= seg
    j = dt.astype(np.int64)
    np.minimum(j, nseg - 1, out=j)
    ph *= nbin
    b = ph.astype(np.int64)
    np.minimum(b, nbin - 1, out=b)
    j *= nbin
    j += b
    H = np.bincount(j, minlength=nseg * nbin).reshape(nseg, nbin).astype(float)
    # per segment, harmonic sums sum_b H[j, b] exp(2 pi i k (b + 0.5) / nbin)
    A = np.fft.ifft(H, axis=1)[:, 1 : nharm + 1] * nbin * np.exp(1j * np.pi * np.arange(1, nharm + 1) / nbin)
    tj = (np.arange(nseg) + 0.5) * seg
    out = np.empty(freqs.size)
    n = t.size
    for i, f in enumerate(freqs):
        rot = np.exp(2j * np.pi * (f - f0) * tj)
        tot = 0.0
        r = np.ones_like(rot)
        for k in range(nharm):
            r = r * rot
            tot += abs(np.sum(A[:, k] * r)) ** 2
        out[i] = 2.0 / n * tot
    return out


def z2_search(
    times: np.ndarray,
    f_min: float,
    f_max: float,
    nharm: int = 2,
    oversample: float = 5.0,
    max_trials: int = 100000,
    exact: bool = False,
) -> dict[str, np.ndarray | float]:
    """Z^2_n over a frequency grid spaced ``1/(oversample * T)``.

    Uses :func:`z2_binned` (or the exact :func:`z2_statistic` with ``exact=True``); the best
    trial is then re-evaluated exactly.

    Returns ``{"frequency": grid, "z2": values, "best_frequency": f, "best_z2": z}``.
    """
    t = np.asarray(times, dtype=float)
    span = float(t.max() - t.min()) if t.size > 1 else 1.0
    df = 1.0 / (oversample * span)
    nf = int(np.ceil((f_max - f_min) / df)) + 1
    if nf > max_trials:
        raise ValueError(
            f"{nf} trial frequencies between {f_min} and {f_max} Hz (step {df:.3g} Hz); "
            f"narrow the range or raise max_trials ({max_trials})"
        )
    grid = f_min + df * np.arange(nf)
    z = z2_statistic(t, grid, nharm=nharm) if exact else z2_binned(t, grid, nharm=nharm)
    k = int(np.argmax(z))
    best = float(z2_statistic(t, grid[k : k + 1], nharm=nharm)[0])
    return {"frequency": grid, "z2": z, "best_frequency": float(grid[k]), "best_z2": best}


def power_spectrum(
    counts: np.ndarray, dt: float, segment: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Leahy-normalised power spectrum of an evenly binned light curve (counts per bin).

    Averaged over segments of ``segment`` seconds when given. Returns frequencies (Hz) and powers.
    """
    c = np.asarray(counts, dtype=float)
    nseg = c.size if segment is None else max(int(round(segment / dt)), 2)
    m = c.size // nseg
    if m < 1:
        raise ValueError(f"light curve of {c.size} bins is shorter than one segment of {nseg} bins")
    segs = c[: m * nseg].reshape(m, nseg)
    ft = np.fft.rfft(segs, axis=1)[:, 1:]
    tot = segs.sum(axis=1)[:, None]
    power = (2.0 * np.abs(ft) ** 2 / np.maximum(tot, 1)).mean(axis=0)
    freq = np.fft.rfftfreq(nseg, dt)[1:]
    return freq, power


def mjd(t: np.ndarray) -> np.ndarray:
    """Mission seconds to MJD (same time scale)."""
    return mission_time_to_mjd(t)
