"""Find the Level-1 exposures under a folder: an exposure, an observation or a whole data root.

The mission's layout is ``<root>/<ObsID>/<ExpID>-<date>-01-01/{HE,ME,LE,ACS,AUX}/HXMT_*_L1P.FITS``
(what ``daisy hxmt simulate --out ROOT`` writes, and what the archive serves). A user may point
at any of the three levels; :func:`find_exposures` returns the exposure folders under it that
hold an instrument's events, sorted by path, so ``daisy hxmt pipeline ROOT`` runs them all::

    >>> find_exposures("data/hxmt", "HE")                 # doctest: +SKIP
    [PosixPath('data/hxmt/P0101299001/P010129900101-20180301-01-01')]
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import InputFileError
from .mission import L1_FOLDER, spec

#: how deep under the given folder exposures are looked for (root / ObsID / exposure, and one more)
MAX_DEPTH = 4


def _events(folder: Path, instrument: str) -> list[Path]:
    kind = f"{instrument}-Evt"
    sub = folder / L1_FOLDER[kind]
    return sorted(sub.glob(f"HXMT_*_{kind}_FFFFFF_V*_L1P.FITS")) if sub.is_dir() else []


def is_exposure(folder: str | os.PathLike, instrument: str) -> bool:
    """Whether ``folder`` is an exposure folder holding ``instrument``'s Level-1 events."""
    return bool(_events(Path(folder), spec(instrument).name))


def find_exposures(path: str | os.PathLike, instrument: str) -> list[Path]:
    """The exposure folders at or under ``path`` that hold ``instrument``'s events, sorted by path.

    Parameters
    ----------
    path
        An exposure folder, an observation folder (its exposures) or a data root (every
        observation's exposures), at most :data:`MAX_DEPTH` levels above the exposures.
    instrument
        ``"HE"``, ``"ME"`` or ``"LE"``.

    Raises
    ------
    InputFileError
        ``path`` does not exist, or no exposure with that instrument's events is under it
        (the message says what was expected and which instruments the exposures found hold).
    """
    inst = spec(instrument).name
    root = Path(path)
    if not root.exists():
        raise InputFileError(root, "", "an exposure, observation or data folder", "no such folder")
    if not root.is_dir():
        raise InputFileError(
            root, "", "a folder (an exposure, observation or data root), not a file", "a file"
        )
    if is_exposure(root, inst):
        return [root]
    found: list[Path] = []
    others: set[str] = set()
    level = [root]
    for _depth in range(MAX_DEPTH):
        nxt = []
        for folder in level:
            try:
                subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
            except OSError:
                continue
            for sub in subs:
                if is_exposure(sub, inst):
                    found.append(sub)
                elif sub.name in ("HE", "ME", "LE"):
                    others.add(sub.name)  # an exposure of another instrument: do not descend
                else:
                    nxt.append(sub)
        level = nxt
    if not found:
        seen = f"exposures with {', '.join(sorted(others))} data only" if others else "no Level-1 exposure"
        raise InputFileError(
            root,
            "",
            f"Level-1 exposure folder(s) with {inst} events ({L1_FOLDER[inst + '-Evt']}/HXMT_<ExpID>_"
            f"{inst}-Evt_FFFFFF_V<n>_L1P.FITS) at or under it",
            seen,
        )
    return sorted(found)


__all__ = ["MAX_DEPTH", "find_exposures", "is_exposure"]
