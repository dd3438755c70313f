"""Is an HDF5 file still being acquired? For the file browser and the data service's listing.

A detector writer holds its file open while it writes: in SWMR mode HDF5 marks the file
open for writing, and a writer without SWMR locks it; an ordinary read-only open then
fails. Writers that say when the scan is complete keep a flag dataset
(:data:`COMPLETE_FLAGS`: 0 while acquiring, 1 complete, 2 stopped before the end);
a flag left at 0 by a writer that no longer holds the file means the writer died.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: flag datasets of growing scans (first found wins): 0 acquiring, 1 complete, 2 stopped
COMPLETE_FLAGS = ("/exchange/scan_complete",)
ACQUIRING, INCOMPLETE, STOPPED = "acquiring", "incomplete", "stopped"
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs", ".nx5", ".cxi")


def _held_by_writer(exc: OSError) -> bool:
    text = str(exc)
    return "already open for write" in text or "unable to lock file" in text


def flag_state(f: Any) -> str | None:
    """``acquiring``/``incomplete`` (flag 0; which one the caller knows), ``stopped`` (2), or None."""
    for name in COMPLETE_FLAGS:
        if name in f:
            ds = f[name]
            if hasattr(ds, "refresh"):
                try:
                    ds.refresh()
                except (OSError, ValueError):  # not opened in SWMR mode: nothing to refresh
                    pass
            v = int(ds[()].ravel()[0]) if getattr(ds, "shape", ()) else int(ds[()])
            return INCOMPLETE if v == 0 else (STOPPED if v == 2 else None)
    return None


@contextmanager
def open_h5_listing(path: str | os.PathLike) -> Iterator[tuple[Any, str | None]]:
    """Open an HDF5 file read-only, also while a SWMR writer holds it; yields ``(file, state)``.

    ``state``: ``"acquiring"`` (a writer holds the file), ``"incomplete"`` (its complete
    flag is 0 and no writer holds it: the writer died), ``"stopped"``, or None (a finished
    file). Raises OSError when the file cannot be read at all (a writer without SWMR holds it).
    """
    import h5py

    try:
        f, state = h5py.File(path, "r"), None
    except OSError as exc:
        if not _held_by_writer(exc):
            raise
        f, state = h5py.File(path, "r", swmr=True), ACQUIRING
    try:
        flagged = flag_state(f)
        if state is None:
            state = flagged
        elif flagged == STOPPED:
            state = STOPPED
        yield f, state
    finally:
        f.close()


def acquisition_state(path: str | os.PathLike) -> str | None:
    """``"acquiring"``, ``"incomplete"``, ``"stopped"`` or None (finished, not HDF5, unreadable)."""
    if not os.fspath(path).lower().endswith(HDF5_SUFFIXES):
        return None
    try:
        with open_h5_listing(path) as (_f, state):
            return state
    except OSError as exc:
        return ACQUIRING if _held_by_writer(exc) else None
    except (KeyError, ValueError):
        return None
