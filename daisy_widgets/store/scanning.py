"""Finding what the data service serves in a data folder, and its searchable metadata.

Pure functions over files (no Tiled): :func:`find_exposures` lists the HXMT
Level-1 exposures (folders holding ``HE/ ME/ LE/ ACS/ AUX/`` with files named
``HXMT_<ExpID>_<kind>_FFFFFF_V<n>_L1P.FITS``) and :func:`find_scans` the
tomography scans (HDF5 Data Exchange or NeXus NXtomo). Each comes with the
metadata the catalog registers and searches.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .folder_walk import FolderWalk

#: sub-folders of a Level-1 exposure
L1_FOLDERS = ("HE", "ME", "LE", "ACS", "AUX")
INSTRUMENTS = ("HE", "ME", "LE")
L1_NAME = re.compile(
    r"^HXMT_(?P<exp>[A-Za-z0-9]+)_(?P<kind>[A-Za-z0-9-]+)_FFFFFF_V(?P<ver>\d+)_L1P\.FITS$", re.I
)
#: primary-header keywords read from a Level-1 file
HEADER_KEYS = (
    "OBJECT",
    "RA_OBJ",
    "DEC_OBJ",
    "OBS_ID",
    "EXP_ID",
    "DATE-OBS",
    "DATE-END",
    "TSTART",
    "TSTOP",
    "EXPOSURE",
    "INSTLIST",
    "DATA_VER",
    "TELESCOP",
)
SCAN_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs")


def sha256_of(path: Path, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class L1File:
    """One Level-1 file of an exposure."""

    path: Path
    folder: str  # HE, ME, LE, ACS or AUX
    kind: str  # HE-Evt, EHK, Att, Orbit, ...
    version: int
    entry: os.DirEntry | None = field(default=None, repr=False, compare=False)  # from the folder's listing

    def size(self) -> int:
        """Size in bytes (from the listing's ``stat``, made once, when the file was listed)."""
        return (self.entry.stat() if self.entry is not None else self.path.stat()).st_size

    def record(self, checksum: bool = True) -> dict[str, Any]:
        return {
            "name": self.path.name,
            "folder": self.folder,
            "kind": self.kind,
            "version": self.version,
            "size": self.path.stat().st_size,
            "sha256": sha256_of(self.path) if checksum else None,
        }


@dataclass
class Exposure:
    """One HXMT exposure: its folder, Level-1 files and searchable metadata."""

    root: Path
    files: list[L1File] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return str(self.metadata.get("exp_id") or self.root.name)


def _f(v: Any) -> float | None:
    try:
        return None if v is None or v == "" else float(v)
    except (TypeError, ValueError):
        return None


def _s(v: Any) -> str:
    return "" if v is None else str(v).strip()


def exposure_metadata(
    header: dict[str, Any], files: list[L1File], root: Path, data_dir: Path
) -> dict[str, Any]:
    """Searchable metadata of an exposure from a Level-1 primary header and its file list."""
    insts = [i for i in INSTRUMENTS if any(f.kind.upper() == f"{i}-EVT" for f in files)]
    version = _s(header.get("DATA_VER")) or (f"V{max(f.version for f in files)}" if files else "")
    target = _s(header.get("OBJECT"))
    try:
        rel = str(root.relative_to(data_dir))
    except ValueError:
        rel = str(root)
    return {
        "kind": "hxmt-observation",
        "telescope": _s(header.get("TELESCOP")) or "HXMT",
        "target": target,
        "target_lc": target.lower(),
        "ra": _f(header.get("RA_OBJ")),
        "dec": _f(header.get("DEC_OBJ")),
        "obs_id": _s(header.get("OBS_ID")),
        "exp_id": _s(header.get("EXP_ID")) or root.name.split("-")[0],
        "start": _s(header.get("DATE-OBS")),
        "stop": _s(header.get("DATE-END")),
        "tstart": _f(header.get("TSTART")),
        "tstop": _f(header.get("TSTOP")),
        "exposure": _f(header.get("EXPOSURE")),
        "instruments": insts,
        "data_version": version,
        "folder": rel,
        "units": {
            "ra": "deg",
            "dec": "deg",
            "tstart": "s (mission time, TT)",
            "tstop": "s (mission time, TT)",
            "exposure": "s",
        },
    }


def read_header(path: Path) -> dict[str, Any]:
    """The :data:`HEADER_KEYS` present in the file's primary header (as ``fits.open`` reads them).

    Read from the header blocks alone (:func:`.fits_header.primary_header`); a file that does
    not start with a plain primary header (compressed, damaged) is opened with astropy, which
    names the problem.
    """
    from .fits_header import primary_header

    fast = primary_header(path, HEADER_KEYS)
    if fast is not None:
        return fast
    from astropy.io import fits

    with fits.open(path, memmap=False) as hl:
        h = hl[0].header
        return {k: h[k] for k in HEADER_KEYS if k in h}


def _l1_files(
    root_of: str, siblings: list[os.DirEntry], walk: FolderWalk
) -> tuple[list[L1File], list[str] | None]:
    """The Level-1 files of the exposure folder ``root_of`` (``siblings``: its entries, as listed),
    and its Level-1 folders (``["ACS", "AUX", "HE"]``...) when the exposure folder holds nothing
    else that a walk looks for (no folder but those, none below them, no file with one of the
    walk's suffixes: scan files), else None."""
    present = {e.name for e in siblings if e.name in L1_FOLDERS and e.is_dir()}
    suffixes = walk.suffixes

    def plain(e: os.DirEntry, inner: bool) -> bool:
        if e.is_dir():
            return not inner and e.name in present
        return not (suffixes and os.path.splitext(e.name)[1].lower() in suffixes)

    only_l1 = all(plain(e, False) for e in siblings)
    files: list[L1File] = []
    for folder in L1_FOLDERS:
        if folder not in present:
            continue
        for e in walk.peek(os.path.join(root_of, folder)) or []:
            only_l1 = only_l1 and plain(e, True)
            m = L1_NAME.match(e.name)
            if m and e.is_file():
                files.append(L1File(Path(e.path), folder, m["kind"], int(m["ver"]), e))
    return files, (sorted(present) if only_l1 else None)


def listing_mtimes(root_of: str, folders: list[str], walk: FolderWalk) -> dict[str, int] | None:
    """``{"": the exposure folder's, "HE": its ``folders``' (every Level-1 folder in it), ...}``
    modification times (ns) from before the walk listed them (:attr:`.folder_walk.FolderWalk.mtimes`); None when one of them
    was not kept (too recent to be trusted, or the walk keeps none).

    Kept in the exposure's metadata (``listing_mtime_ns``): a re-registration that finds the same
    times, and the same size for each file, knows the exposure is unchanged without listing its
    folders (:class:`.registered.UnchangedCheck`).
    """
    got = {"": walk.mtimes.get(root_of)}
    for folder in folders:
        got[folder] = walk.mtimes.get(os.path.join(root_of, folder))
    if any(v is None for v in got.values()):
        return None
    return dict(sorted(got.items()))  # type: ignore[arg-type]


def find_exposures(
    data_dir: Path,
    checksum: bool = True,
    root: Path | None = None,
    known: Callable[[Path, list[L1File], dict[str, int] | None], bool] | None = None,
    bad: Callable[[Path, Exception], None] | None = None,
    walk: FolderWalk | None = None,
) -> Iterator[tuple[Exposure, list[dict]]]:
    """Every exposure folder under ``data_dir`` with its metadata and file records
    (folders relative to ``root``, default ``data_dir``: the served data folder).

    A folder counts as an exposure when it has at least one of ``HE/ ME/ LE/ ACS/ AUX/``
    holding Level-1 files. ``known(folder, files, mtimes)`` True: the exposure is left out before
    its header is read or its files hashed (one already registered, unchanged); ``mtimes``: its
    folders' times as :func:`listing_mtimes` gives them (None: not kept), which a new
    exposure's metadata keeps as ``listing_mtime_ns``. A file whose
    header cannot be read raises, or, with ``bad`` given, is passed to ``bad(path, error)`` and
    its exposure left out. ``walk``: the :class:`.folder_walk.FolderWalk` to use (one that notes
    the scan files passes them on to :func:`find_scans`: one walk for both).
    """
    data_dir = Path(data_dir)
    served = Path(root) if root is not None else data_dir
    walk = walk if walk is not None else FolderWalk()  # each folder listed once
    seen: set[str] = set()
    for sub, name, siblings in walk.folders(str(data_dir)):
        if name not in L1_FOLDERS:
            continue
        parent = os.path.dirname(sub)
        if parent in seen:
            continue
        seen.add(parent)
        files, folders = _l1_files(parent, siblings, walk)
        if not files:
            continue
        root_of = Path(parent)
        mtimes = listing_mtimes(parent, folders, walk) if folders is not None else None
        if known is not None and known(root_of, files, mtimes):
            continue
        evts = [f for f in files if f.kind.upper().endswith("-EVT")] or files
        first = max(evts, key=lambda f: f.version).path
        try:
            header = read_header(first)
        except Exception as exc:
            if bad is None:
                raise
            bad(first, exc)
            continue
        exp = Exposure(root_of, files, exposure_metadata(header, files, root_of, served))
        if mtimes is not None:
            exp.metadata["listing_mtime_ns"] = mtimes
        yield exp, [f.record(checksum) for f in files]


@dataclass
class ScanFile:
    """One tomography scan file and its searchable metadata."""

    path: Path
    metadata: dict[str, Any]

    @property
    def key(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]", "_", self.path.stem)


def _scalar(f: Any, names: tuple[str, ...]) -> Any:
    import numpy as np

    for n in names:
        if n in f:
            v = f[n][()]
            if isinstance(v, np.ndarray):
                v = v.ravel()[0] if v.size else None
            if isinstance(v, bytes):
                v = v.decode(errors="replace")
            return v.item() if isinstance(v, np.generic) else v
    return None


def scan_metadata(path: Path, data_dir: Path) -> dict[str, Any] | None:
    """Metadata of a Data Exchange or NXtomo file, or None when it is neither."""
    import h5py
    import numpy as np

    from .acquisition import open_h5_listing

    with open_h5_listing(path) as (f, acquisition):  # also a scan a detector is still writing (SWMR)
        if "/exchange/data" in f:
            fmt, data, theta = "data-exchange", "/exchange/data", "/exchange/theta"
            energy = (
                "/measurement/instrument/monochromator/energy",
                "/measurement/instrument/source/energy",
                "/exchange/energy",
            )
            pixel = (
                "/measurement/instrument/detector/pixel_size_x",
                "/measurement/instrument/detection_system/objective/resolution",
            )
            name = ("/measurement/sample/name",)
            distance = (
                "/measurement/instrument/sample/setup/distance",
                "/measurement/instrument/detector/distance",
            )
            title = ("/exchange/title",)
            key = None
        else:
            entry = None
            for k, v in f.items():
                d = v.get("definition") if isinstance(v, h5py.Group) else None
                if d is not None and _scalar(v, ("definition",)) == "NXtomo":
                    entry = "/" + k
                    break
            if entry is None:
                return None
            fmt, data, theta = "nxtomo", f"{entry}/instrument/detector/data", f"{entry}/sample/rotation_angle"
            energy = (f"{entry}/instrument/source/energy", f"{entry}/instrument/monochromator/energy")
            pixel = (f"{entry}/instrument/detector/x_pixel_size",)
            name = (f"{entry}/sample/name",)
            distance = (f"{entry}/instrument/detector/distance",)
            title = (f"{entry}/title",)
            key = f"{entry}/instrument/detector/image_key"
        if data not in f:
            return None
        shape = [int(s) for s in f[data].shape]
        meta: dict[str, Any] = {
            "kind": "tomography-scan",
            "format": fmt,
            "data": data,
            "shape": shape,
            "dtype": str(f[data].dtype),
            "chunks": [int(c) for c in (f[data].chunks or f[data].shape)],
        }
        if theta in f:
            th = np.asarray(f[theta][()], dtype=float).ravel()
            units = f[theta].attrs.get("units", b"degrees")
            units = units.decode() if isinstance(units, bytes) else str(units)
            if units.lower().startswith("rad"):
                th = np.rad2deg(th)
            if key is not None and key in f:
                th = th[np.asarray(f[key][()]).ravel() == 0]
            if th.size:
                meta.update(n_angles=int(th.size), angle_min=float(th.min()), angle_max=float(th.max()))
        for k, names, unit in (
            ("energy", energy, "keV"),
            ("pixel_size", pixel, "m"),
            ("distance", distance, "m"),
        ):
            v = _scalar(f, names)
            if v is not None:
                meta[k] = float(v)
                meta.setdefault("units", {})[k] = unit
        s = _scalar(f, name)
        meta["sample_name"] = str(s) if s is not None else ""
        meta["sample_name_lc"] = meta["sample_name"].lower()
        t = _scalar(f, title)
        if t is not None:
            meta["title"] = str(t)
        if fmt == "data-exchange" and "/exchange" in f:
            meta["attrs"] = {
                k: (v.item() if isinstance(v, np.generic) else v)
                for k, v in f["/exchange"].attrs.items()
                if isinstance(v, (int, float, str, np.generic)) and not isinstance(v, np.bytes_)
            }
    if acquisition is not None:
        meta["acquisition"] = acquisition  # acquiring | incomplete | stopped
    try:
        meta["file"] = str(path.relative_to(data_dir))
    except ValueError:
        meta["file"] = str(path)
    meta["size"] = path.stat().st_size
    return meta


def find_scans(
    data_dir: Path, root: Path | None = None, walk: FolderWalk | None = None
) -> Iterator[ScanFile]:
    """Every Data Exchange / NXtomo file under ``data_dir`` (others are skipped); paths relative
    to ``root`` (default ``data_dir``). ``walk``: a complete walk of ``data_dir`` that noted the
    files with :data:`SCAN_SUFFIXES` (none: the folder is walked here)."""
    if walk is None or not walk.complete or walk.suffixes != SCAN_SUFFIXES:
        walk = FolderWalk(SCAN_SUFFIXES)
        for _ in walk.folders(str(data_dir)):
            pass
    for p in map(Path, walk.files):
        try:
            meta = scan_metadata(p, Path(root) if root is not None else Path(data_dir))
        except (OSError, KeyError, ValueError):
            continue  # damaged or foreign HDF5: not served
        if meta is not None:
            yield ScanFile(p, meta)
