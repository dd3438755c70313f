"""NeXus NXtomo (an NXentry with ``definition = NXtomo``): lazy reader and raw-scan writer.

Frames are ``instrument/detector/data`` with ``image_key`` (or
``image_key_control``, as ESRF's ``nxtomo``/tomoscan write it) and one
``sample/rotation_angle`` per frame. Detector data reached through external
links or virtual datasets read like any other.

Why not ESRF's ``nxtomo`` package: it needs ``silx`` and ``pint`` (a large
dependency for the users' kernels), it loads the detector data as data URLs
rather than chunked lazy arrays, and it reads only NXtomo, while Daisy reads
NXtomo through the same key/angle code as any NeXus file given by paths
(:mod:`.paths`). Files written here follow the paths ``nxtomo`` reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ...core.atomic import atomic_path
from ...core.errors import InputFileError
from .frames import angles_for_projections, parse_unit, select_by_key, take_frames, to_degrees
from .hdf5 import attr_text, lazy_dataset, open_h5, read_array, scalar
from .scan import Scan


def find_nxtomo(f) -> str | None:
    """The first NXentry of an open file whose ``definition`` is NXtomo, or None."""
    found: list[str] = []

    def visit(name: str, obj: Any) -> None:
        d = obj.attrs.get("definition", None) if hasattr(obj, "attrs") else None
        if name.endswith("definition") and hasattr(obj, "shape"):
            v = obj[()]
            v = v.decode() if isinstance(v, bytes) else str(v)
            if v == "NXtomo":
                found.append(name.rsplit("/", 1)[0])
        elif d is not None and (d.decode() if isinstance(d, bytes) else str(d)) == "NXtomo":
            found.append(name)

    f.visititems(visit)
    return "/" + found[0].lstrip("/") if found else None


def read_nxtomo(path: str | os.PathLike, entry: str | None = None, validate: bool = True) -> Scan:
    """Read a NeXus NXtomo entry lazily (``instrument/detector/data`` + ``image_key``, ``sample/rotation_angle``).

    ``image_key`` 0 marks projections, 1 flats, 2 darks, 3 invalid frames (dropped);
    flats recorded after the last projection become :attr:`Scan.flats_after`.
    """
    path = os.path.abspath(os.fspath(path))
    with open_h5(path) as f:
        entry = entry or find_nxtomo(f)
        if entry is None or entry not in f:
            raise InputFileError(
                path,
                entry or "/entry/definition",
                "an NXentry with definition 'NXtomo' (run 'daisy tomo inspect' to read it by paths)",
                "none",
            )
        det = f"{entry}/instrument/detector"
        dpath = f"{det}/data"
        kpath = f"{det}/image_key"
        if kpath not in f and f"{det}/image_key_control" in f:
            kpath = f"{det}/image_key_control"
        apath = f"{entry}/sample/rotation_angle"
        for p, what in (
            (dpath, "detector frames (frames, rows, columns)"),
            (kpath, "image_key per frame (0/1/2)"),
            (apath, "rotation_angle per frame, degrees"),
        ):
            if p not in f and f.get(p, getlink=True) is None:
                raise InputFileError(path, p, what, "missing")
        meta: dict[str, Any] = {}
        for k, names in (
            (
                "energy",
                (
                    f"{entry}/instrument/source/energy",
                    f"{entry}/instrument/monochromator/energy",
                    f"{entry}/instrument/beam/incident_energy",
                ),
            ),
            ("pixel_size", (f"{det}/x_pixel_size",)),
            ("distance", (f"{det}/distance",)),
            ("sample_name", (f"{entry}/sample/name",)),
            ("title", (f"{entry}/title",)),
        ):
            v = scalar(f, names)
            if v is not None:
                meta[k] = v
    key, _ = read_array(path, kpath, "image_key per frame (0/1/2)")
    ang, attrs = read_array(path, apath, "rotation_angle per frame, degrees")
    ang = np.asarray(ang, np.float64).ravel()
    units = attr_text(attrs, "units", "")
    ang = to_degrees(ang, parse_unit(units) if units else None, path, apath)
    frames = lazy_dataset(path, dpath, "detector frames (frames, rows, columns)")
    if frames.ndim != 3:
        raise InputFileError(path, dpath, "detector frames (frames, rows, columns)", f"shape {frames.shape}")
    sel = select_by_key(key, frames.shape[0], path, kpath)
    if ang.size != frames.shape[0]:
        raise InputFileError(path, apath, f"one rotation_angle per frame ({frames.shape[0]})", f"{ang.size}")
    theta = angles_for_projections(ang, frames.shape[0], sel.projections, path, apath)
    before, after = sel.flats_before, sel.flats_after
    scan = Scan(
        take_frames(frames, sel.projections),
        take_frames(frames, before if before.size else after),
        take_frames(frames, sel.darks),
        theta,
        take_frames(frames, after) if before.size and after.size else None,
        meta,
        path,
        {
            "projections": dpath,
            "flats": dpath + " (image_key 1)",
            "darks": dpath + " (image_key 2)",
            "theta": apath,
            "flats_after": dpath + " (image_key 1, after)",
        },
        {
            "kind": "nxtomo",
            "entry": entry,
            "data": dpath,
            "image_key": kpath,
            "angles": apath,
            "counts": sel.counts(),
        },
    )
    if validate:
        scan.validate()
    return scan


def write_nxtomo(
    path: str | os.PathLike,
    projections: np.ndarray,
    flats: np.ndarray,
    darks: np.ndarray,
    theta_deg: np.ndarray,
    flats_after: np.ndarray | None = None,
    sample_name: str = "",
) -> Path:
    """Write a minimal NXtomo file: darks, flats, projections[, flats after] as one frame stack."""
    import h5py

    parts = [(darks, 2, np.zeros(len(darks))), (flats, 1, np.zeros(len(flats))), (projections, 0, theta_deg)]
    if flats_after is not None:
        parts.append((flats_after, 1, np.full(len(flats_after), theta_deg[-1])))
    frames = np.concatenate([p[0] for p in parts])
    keys = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    ang = np.concatenate([p[2] for p in parts])
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        e = f.create_group("entry")
        e.attrs["NX_class"] = "NXentry"
        e.create_dataset("definition", data="NXtomo")
        det = e.create_group("instrument/detector")
        det.create_dataset("data", data=frames, chunks=(1,) + frames.shape[1:])
        det.create_dataset("image_key", data=keys.astype(np.int8))
        s = e.create_group("sample")
        a = s.create_dataset("rotation_angle", data=ang)
        a.attrs["units"] = "degree"
        if sample_name:
            s.create_dataset("name", data=sample_name)
    return Path(path)
