"""Level-1 events to screened events in one pass over blocks of the file (``hxmt.pical_screen``).

What ``hxmt.load_l1`` (events) → ``hxmt.pical`` → ``hxmt.screen`` give, the same arrays, without
holding the Level-1 or the calibrated table: each block of rows is read from the file, given its
PI (the same random stream as :func:`.calibrate.pical`: one uniform deviate per event, in file
order) and split into the screening outputs, by a compiled loop
(:func:`.event_kernels.split_block`) or, in :func:`.event_kernels.numpy_loops`, by numpy masks
over the rows inside the GTI only. Memory: one block plus the outputs (a fraction of the
Level-1 events), instead of the Level-1 and calibrated tables together (about 600 MB for a
10 ks HE observation).

HE only in the pipelines: ME grading and LE split-event reconstruction pair neighbouring events,
which a block boundary would separate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .caldb import load_calibration
from .event_kernels import compiled_for, gain_pi, int_range, split_block
from .gti import gti_mask
from .l1io import BLOCK_ROWS, read_table_blocks
from .mission import spec
from .screen import NoGoodTimeError, check_pi_range, flag_mask, select_detectors


def _lut(ids: np.ndarray, size: int) -> np.ndarray:
    lut = np.zeros(size, bool)
    lut[np.asarray(ids, np.int64)] = True
    return lut


def _calibrated_dtype(dtype: np.dtype) -> np.dtype:
    """The rows of ``dtype`` followed by ``PI`` (int16), packed: as :func:`.calibrate.pical` adds it."""
    return np.dtype([(n, dtype[n]) for n in dtype.names] + [("PI", np.int16)])


def _packed(dtype: np.dtype) -> bool:
    """Whether rows of ``dtype`` are its fields back to back, in order, without a PI column
    (their bytes then start the calibrated rows)."""
    names = dtype.names or ()
    offsets = [dtype.fields[n][1] for n in names]
    return (
        "PI" not in names
        and offsets == sorted(offsets)
        and dtype.itemsize == sum(dtype[n].itemsize for n in names)
    )


def pical_screen_file(
    path: str | Path,
    gti: np.ndarray,
    instrument: str,
    *,
    seed: int = 0,
    pi_range: tuple[int, int] | None = None,
    detectors: Sequence[int] | None = None,
    rows: int = BLOCK_ROWS,
    progress: Callable[[float, float, str], None] | None = None,
    check_cancelled: Callable[[], None] | None = None,
) -> dict[str, np.ndarray]:
    """Read, calibrate and screen a Level-1 event file block by block.

    Parameters
    ----------
    path
        The instrument's Level-1 event file (``HXMT_*_HE-Evt_*_L1P.FITS``).
    gti
        Good time intervals (n, 2), s, sorted and disjoint.
    instrument
        HE, ME or LE (ME and LE events must not need grading: see the module's note).
    seed
        Seed of the channel randomisation (:func:`.calibrate.pical`'s).
    pi_range, detectors
        As :func:`.screen.screen_sets`.
    rows
        Events per block.
    progress
        Called with ``(events done, events total, message)`` after each block.
    check_cancelled
        Called before each block; raises to stop.

    Returns
    -------
    dict
        ``events``, ``blind`` (tables with ``PI``), ``raw``, ``raw_blind`` (times, s): exactly
        :func:`.screen.screen_sets` of ``pical(read_table(path), instrument, seed)``.
    """
    s = spec(instrument)
    lo, hi = pi_range or s.band
    problem = check_pi_range(s.name, lo, hi)
    if problem:
        raise ValueError(problem)
    gti = np.asarray(gti, float).reshape(-1, 2)
    if gti.size == 0:
        raise NoGoodTimeError(f"{s.name}: the GTI is empty: no good time to screen")
    cal = load_calibration(s.name)
    det, blind = select_detectors(s.name, detectors), select_detectors(s.name, None, True)
    sel_lut, blind_lut = _lut(det, cal.det_id.size), _lut(blind, cal.det_id.size)
    n, blocks = read_table_blocks(path, f"{s.name}-Evt", rows)
    rng = np.random.default_rng(seed)
    out: tuple[np.ndarray, ...] | None = None
    counts = np.zeros(4, np.int64)
    edges = gti.ravel()
    done = 0
    for block in blocks:
        if check_cancelled is not None:
            check_cancelled()
        m = block.size
        d_min, d_max = int_range(block["DET_ID"])
        if d_min < 0 or d_max >= cal.det_id.size:
            raise ValueError(
                f"{Path(path).name}: DET_ID outside 0..{cal.det_id.size - 1} for {s.name}: "
                f"found {d_min}..{d_max} in rows {done}..{done + m - 1}"
            )
        u = rng.random(m)  # one deviate per event, in file order, whichever events are kept
        if out is None:
            # room for every event: pages never written are never committed, and the outputs
            # are shrunk to their length at the end (in place, no copy)
            dt = _calibrated_dtype(block.dtype)
            out = (np.empty(n, dt), np.empty(n, dt), np.empty(n, np.float64), np.empty(n, np.float64))
        packed = _packed(block.dtype) and block.flags.c_contiguous
        if compiled_for(n) and packed:
            pi = np.empty(m, np.int16)
            gain_pi(block["DET_ID"], block["CHANNEL"], u, cal.gain_c0, cal.gain_c1, s.n_pi, pi)
            good = flag_mask(block, s.name)
            split_block(block, pi, good, edges, sel_lut, blind_lut, (lo, hi), out, counts)  # type: ignore[arg-type]
        else:
            # numpy: only the rows inside the GTI are calibrated and split (in time order: slices)
            for part in _gti_parts(block, gti, packed):
                rows_in = block[part]
                pi = np.empty(rows_in.size, np.int16)
                gain_pi(rows_in["DET_ID"], rows_in["CHANNEL"], u[part], cal.gain_c0, cal.gain_c1, s.n_pi, pi)
                good = flag_mask(rows_in, s.name)
                _split_numpy(rows_in, pi, good, sel_lut, blind_lut, (lo, hi), out, counts)
        done += m
        if progress is not None:
            progress(done, n, f"{done:,} of {n:,} events")
    if out is None:  # a table without rows
        empty = np.empty(0, _calibrated_dtype(np.dtype([("TIME", float), ("DET_ID", np.uint8)])))
        return {"events": empty, "blind": empty.copy(), "raw": np.empty(0), "raw_blind": np.empty(0)}
    for arr, k in zip(out, counts, strict=True):
        arr.resize(int(k), refcheck=False)
    return dict(zip(("events", "blind", "raw", "raw_blind"), out, strict=True))


def _gti_parts(block: np.ndarray, gti: np.ndarray, packed: bool) -> list[slice | np.ndarray]:
    """The block's rows inside the GTI: row slices ``[first t >= start, first t >= stop)`` of each
    GTI when the times are sorted (and the rows packed, so a slice stays contiguous), else
    one index array of :func:`.gti.gti_mask` (the same rows either way)."""
    t = block["TIME"]
    edges = gti.ravel()
    if packed and t.size and bool(np.all(t[1:] >= t[:-1])) and bool(np.all(edges[1:] >= edges[:-1])):
        cut = np.searchsorted(t, edges, side="left")
        return [slice(int(a), int(b)) for a, b in cut.reshape(-1, 2) if b > a]
    return [np.flatnonzero(gti_mask(t, gti))]


def _split_numpy(
    block: np.ndarray,
    pi: np.ndarray,
    good: np.ndarray,
    selected: np.ndarray,
    blind: np.ndarray,
    pi_range: tuple[int, int],
    out: tuple[np.ndarray, ...],
    counts: np.ndarray,
) -> None:
    """:func:`.event_kernels.split_block` of rows all inside the GTI, with numpy masks."""
    good &= pi >= pi_range[0]
    good &= pi <= pi_range[1]
    det = block["DET_ID"]
    for lut, k_rows, k_raw in ((selected, 0, 2), (blind, 1, 3)):
        raw = lut[det]
        _append(out[k_raw], counts, k_raw, block["TIME"][raw])
        raw &= good
        rows, a = out[k_rows], int(counts[k_rows])
        b = a + int(np.count_nonzero(raw))
        if _packed(block.dtype) and block.flags.c_contiguous:  # the rows' bytes, then PI
            # each row as one opaque item of its bytes (copied whole, not byte by byte)
            row = np.dtype((np.void, block.dtype.itemsize))
            head = np.dtype({"names": ["row"], "formats": [row], "itemsize": rows.dtype.itemsize})
            rows.view(head)["row"][a:b] = block.view(row)[raw]
        else:
            for name in block.dtype.names:
                rows[name][a:b] = block[name][raw]
        rows["PI"][a:b] = pi[raw]
        counts[k_rows] = b


def _append(dst: np.ndarray, counts: np.ndarray, k: int, values: np.ndarray) -> None:
    a = int(counts[k])
    dst[a : a + values.size] = values
    counts[k] = a + values.size
