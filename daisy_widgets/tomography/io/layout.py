"""Where the parts of a scan are: a serialisable layout spec, and the layouts remembered per file-name pattern.

A :class:`Layout` says how to read a file that no standard layout describes
(which dataset holds the frames, the image key, the angles, the flats and
darks). It converts to and from a plain dict (JSON) and to the ``daisy tomo
recon`` options that read the same file, so the CLI, ``daisy tomo inspect`` and
the app share one description. :class:`LayoutMemory` keeps the layouts a user
chose, per file-name pattern (``scan_0042.nxs`` -> ``scan_*.nxs``), in
``~/.daisy/tomo_layouts.json`` (``DAISY_USER_DIR`` overrides ``~/.daisy``).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ...core.atomic import atomic_write_text
from ...core.errors import InputFileError

#: layout kinds: standard HDF5 layouts, HDF5/NeXus by named paths, TIFF files
KINDS = ("dxchange", "nxtomo", "paths", "tiff")


@dataclass
class Layout:
    """How to read a scan.

    Attributes
    ----------
    kind
        ``"dxchange"``, ``"nxtomo"``, ``"paths"`` (any HDF5/NeXus by the paths below) or ``"tiff"``.
    data
        Dataset path of the frames ``(frames, rows, columns)`` (``paths``); unused for TIFF input.
    image_key
        Dataset path of the image key (one per frame: 0 projection, 1 flat, 2 dark, 3 invalid), or None.
    angles
        Dataset path in the file, a text file (one angle per line), or ``START:STOP:N``
        (``numpy.linspace(START, STOP, N)``, both ends included).
    angles_unit
        ``"deg"`` or ``"rad"``; None: the dataset's ``units`` attribute, else degrees.
    flats, darks
        Dataset paths in the file, or files/globs (HDF5 or TIFF) beside it; None: from the image key.
    flats_path, darks_path
        Dataset paths inside separate flat/dark HDF5 files.
    entry
        The NXtomo entry (``nxtomo``), None for the first one found.
    """

    kind: str = "paths"
    data: str | None = None
    image_key: str | None = None
    angles: str | None = None
    angles_unit: str | None = None
    flats: list[str] | None = None
    darks: list[str] | None = None
    flats_path: str | None = None
    darks_path: str | None = None
    entry: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields that are set, as a JSON-able dict."""
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "")}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Layout:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown layout field(s) {unknown}; known: {sorted(known)}")
        d = dict(d)
        for k in ("flats", "darks"):
            if isinstance(d.get(k), str):
                d[k] = [d[k]]
        return cls(**d)

    def to_args(self) -> list[str]:
        """The ``daisy tomo recon`` options that read a file with this layout."""
        args: list[str] = []
        if self.kind == "paths" and self.data:
            args += ["--data", self.data]
        for opt, v in (
            ("--image-key", self.image_key),
            ("--angles", self.angles),
            ("--angles-unit", self.angles_unit),
        ):
            if v:
                args += [opt, v]
        for opt, v in (("--flats", self.flats), ("--darks", self.darks)):
            if v:
                args += [opt, *v]
        for opt, v in (("--flats-path", self.flats_path), ("--darks-path", self.darks_path)):
            if v:
                args += [opt, v]
        return args

    @property
    def is_standard(self) -> bool:
        """True for a layout read without any option (Data Exchange, NXtomo)."""
        return self.kind in ("dxchange", "nxtomo") and not self.to_args()


def recon_command(input_path: str, layout: Layout, output: str | None = None) -> str:
    """The ``daisy tomo recon`` command line (shell-quoted) that reads ``input_path`` with ``layout``."""
    out = output or (Path(input_path.rstrip("/")).stem.replace("*", "") or "scan") + "_recon.h5"
    parts = ["daisy", "tomo", "recon", input_path, *layout.to_args(), "-o", out]
    return " ".join(shlex.quote(p) for p in parts)


# ----------------------------------------------------------------------------- memory
def name_pattern(path: str | os.PathLike) -> str:
    """The file-name pattern of ``path``: its base name with every run of digits as ``*``."""
    return re.sub(r"\d+", "*", Path(os.fspath(path).rstrip("/")).name)


def user_dir() -> Path:
    """``DAISY_USER_DIR``, else ``~/.daisy``."""
    env = os.environ.get("DAISY_USER_DIR")
    return Path(env) if env else Path.home() / ".daisy"


class LayoutMemory:
    """Layouts remembered per file-name pattern, in a JSON file (written atomically).

    Parameters
    ----------
    path
        The JSON file; default ``<user_dir()>/tomo_layouts.json``.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else user_dir() / "tomo_layouts.json"

    def load(self) -> dict[str, dict]:
        """``{pattern: layout dict}``; an unreadable file is an :class:`InputFileError`."""
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError) as exc:
            raise InputFileError(self.path, "", "a JSON object {pattern: layout}", str(exc)) from None
        if not isinstance(data, dict):
            raise InputFileError(self.path, "", "a JSON object {pattern: layout}", type(data).__name__)
        return data

    def remember(self, path: str | os.PathLike, layout: Layout) -> str:
        """Keep ``layout`` for every file named like ``path``; returns the pattern."""
        pattern = name_pattern(path)
        data = self.load()
        data[pattern] = layout.to_dict()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(data, indent=1, sort_keys=True))
        return pattern

    def recall(self, path: str | os.PathLike) -> Layout | None:
        """The layout remembered for a file named like ``path`` (exact pattern first), or None."""
        data = self.load()
        name = Path(os.fspath(path).rstrip("/")).name
        pattern = name_pattern(path)
        if pattern in data:
            return Layout.from_dict(data[pattern])
        for pat, d in data.items():
            if fnmatch.fnmatch(name, pat):
                return Layout.from_dict(d)
        return None

    def forget(self, path: str | os.PathLike) -> bool:
        """Drop the layout of ``path``'s pattern; True if one was there."""
        data = self.load()
        if data.pop(name_pattern(path), None) is None:
            return False
        atomic_write_text(self.path, json.dumps(data, indent=1, sort_keys=True))
        return True
