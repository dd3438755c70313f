"""Channel to PI (``pical``), ME grades (``megrade``) and LE split-event reconstruction (``lerecon``).

Tables are numpy structured arrays with upper-case columns (``TIME, DET_ID, CHANNEL, ...``).
"""

from __future__ import annotations

import numpy as np

from .caldb import Calibration, load_calibration
from .event_kernels import gain_pi, int_range, with_new_column
from .mission import spec

COINCIDENCE = 1e-6  # s
#: events calibrated per block by :func:`pical`
PICAL_BLOCK = 1 << 20


def with_column(table: np.ndarray, name: str, values: np.ndarray) -> np.ndarray:
    """A copy of a structured array with column ``name`` set (added if missing)."""
    values = np.asarray(values)
    if name in table.dtype.names:
        out = table.copy()
        out[name] = values
        return out
    dt = np.dtype([(n, table.dtype[n]) for n in table.dtype.names] + [(name, values.dtype)])
    out = np.empty(table.shape, dtype=dt)
    for n in table.dtype.names:
        out[n] = table[n]
    out[name] = values
    return out


def pical(events: np.ndarray, instrument: str, seed: int = 0, cal: Calibration | None = None) -> np.ndarray:
    """Add a ``PI`` column: ``PI = floor(GAIN_C0[det] + GAIN_C1[det] * (CHANNEL + u))``, u ~ U[0, 1).

    PI is clipped to the instrument's channels (0..n_pi-1). Returns a new table.
    """
    s = spec(instrument)
    cal = cal or load_calibration(s.name)
    det_col = events["DET_ID"]
    if det_col.size:
        d_min, d_max = int_range(det_col)
        if d_min < 0 or d_max >= cal.det_id.size:
            raise ValueError(f"DET_ID outside 0..{cal.det_id.size - 1} for {s.name}: found {d_min}..{d_max}")
    rng = np.random.default_rng(seed)
    out = events.copy() if "PI" in events.dtype.names else with_new_column(events, "PI", np.int16)
    # in blocks of events (the generator's stream does not depend on the block size): the same
    # values as over the whole table at once, without table-sized temporaries
    ch, pi = events["CHANNEL"], out["PI"]
    for a in range(0, det_col.size, PICAL_BLOCK):
        b = min(a + PICAL_BLOCK, det_col.size)
        gain_pi(det_col[a:b], ch[a:b], rng.random(b - a), cal.gain_c0, cal.gain_c1, s.n_pi, pi[a:b])
    return out


def me_grade(events: np.ndarray) -> np.ndarray:
    """Add ``GRADE``: 0 for single-pixel events, 1 for events coincident (within 1 us) with a
    neighbouring pixel (split events). Events sorted by time."""
    t, d = events["TIME"], events["DET_ID"].astype(np.int64)
    g = np.zeros(t.size, np.int16)
    if t.size > 1:
        close = (np.diff(t) < COINCIDENCE) & (np.abs(np.diff(d)) == 1)
        g[1:][close] = 1
        g[:-1][close] = 1
    return with_column(events, "GRADE", g)


def le_recon(events: np.ndarray, instrument: str = "LE") -> np.ndarray:
    """Merge LE split events (two records of one CCD within 1 us) into one event.

    The merged PI is the sum of the two energies: ``floor(PI1 + PI2 + 1 + E0/SLOPE)`` (each PI
    stands for the middle of its channel); ``GRADE`` is 0 for
    single events and 1 for merged ones. Needs ``PI`` (run :func:`pical` first).
    """
    s = spec(instrument)
    t, d = events["TIME"], events["DET_ID"].astype(np.int64)
    n = t.size
    pair = np.zeros(n, bool)
    if n > 1:
        pair[:-1] = (np.diff(t) < COINCIDENCE) & (np.diff(d) == 0)
        # a record already merged into its predecessor cannot start another pair
        pair[1:] &= ~pair[:-1]
    second = np.zeros(n, bool)
    second[1:] = pair[:-1]
    pi = events["PI"].astype(np.float64)
    merged = pi.copy()
    idx = np.flatnonzero(pair)
    merged[idx] = pi[idx] + pi[idx + 1] + 1.0 + s.e0 / s.slope
    keep = ~second
    out = events[keep].copy()
    out["PI"] = np.clip(np.floor(merged[keep]), 0, s.n_pi - 1).astype(np.int16)
    grade = pair[keep].astype(np.int16)
    return with_column(out, "GRADE", grade)
