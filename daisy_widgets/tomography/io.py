"""Tomography files: Data Exchange and NeXus NXtomo readers (lazy), HDF5 and TIFF writers.

Reading gives a :class:`Scan` whose projections, flats and darks are dask
arrays over the HDF5 chunks (nothing is read until computed), so a scan
larger than memory can be processed block by block. Every problem of a file
raises :class:`~daisy_widgets.core.errors.InputFileError` naming the file, the
field and what was expected. Every file written goes through
:func:`~daisy_widgets.core.atomic.atomic_path`: never half-written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.atomic import atomic_path
from ..core.errors import InputFileError

#: Data Exchange dataset paths
DX_DATA, DX_FLATS, DX_DARKS, DX_THETA = (
    "/exchange/data",
    "/exchange/data_white",
    "/exchange/data_dark",
    "/exchange/theta",
)
DX_FLATS_POST = "/exchange/data_white_post"


@dataclass
class Scan:
    """A parallel-beam scan.

    Attributes
    ----------
    projections
        (angles, rows, columns) detector counts, dask (lazy) or numpy.
    flats, darks
        (frames, rows, columns) flat-field and dark-field frames, or None.
    theta
        (angles,) rotation angles in **degrees** (numpy).
    flats_after
        Flats taken after the projections (for interpolated normalisation), or None.
    metadata
        ``energy`` (keV), ``pixel_size`` (m), ``sample_name``, ``title``, ``distance`` (m) when present.
    path
        File it was read from.
    fields
        The dataset path of each part (for error messages).
    """

    projections: Any
    flats: Any
    darks: Any
    theta: np.ndarray
    flats_after: Any = None
    metadata: dict = field(default_factory=dict)
    path: str = ""
    fields: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.projections.shape)

    @property
    def theta_rad(self) -> np.ndarray:
        return np.deg2rad(self.theta)

    def validate(self) -> None:
        """Check shapes, angle count, finite and positive flats (reads flats and darks, not projections).

        Raises
        ------
        InputFileError
            Naming the file and the dataset at fault.
        """
        shape = self.projections.shape
        f = self.fields
        if len(shape) != 3 or min(shape) == 0:
            raise InputFileError(
                self.path,
                f.get("projections", DX_DATA),
                "a non-empty 3-D dataset (angles, rows, columns)",
                f"shape {tuple(shape)}",
            )
        if self.theta.ndim != 1 or self.theta.size != shape[0]:
            raise InputFileError(
                self.path,
                f.get("theta", DX_THETA),
                f"{shape[0]} angles in degrees (one per projection)",
                f"{self.theta.size} values",
            )
        if not np.all(np.isfinite(self.theta)):
            raise InputFileError(
                self.path, f.get("theta", DX_THETA), "finite angles in degrees", "NaN or inf"
            )
        darks = None
        for name, arr in (("darks", self.darks), ("flats", self.flats), ("flats_after", self.flats_after)):
            if arr is None:
                continue
            where = f.get(name, name)
            if arr.ndim == 2:
                arr = arr[None]
            if arr.ndim != 3 or tuple(arr.shape[1:]) != tuple(shape[1:]) or arr.shape[0] == 0:
                raise InputFileError(
                    self.path,
                    where,
                    f"frames of shape (n, {shape[1]}, {shape[2]}) like the projections",
                    f"shape {tuple(arr.shape)}",
                )
            mean = np.asarray(
                arr.mean(axis=0).compute() if hasattr(arr, "compute") else arr.mean(axis=0), np.float64
            )
            if not np.all(np.isfinite(mean)):
                raise InputFileError(
                    self.path, where, "finite counts", f"{int((~np.isfinite(mean)).sum())} NaN/inf pixels"
                )
            if name == "darks":
                darks = mean
            else:
                low = mean - (darks if darks is not None else 0.0) <= 0
                if low.any():
                    raise InputFileError(
                        self.path,
                        where,
                        "flat-field counts above the dark counts in every pixel",
                        f"{int(low.sum())} pixel(s) with flat <= dark (zero or negative flat)",
                    )

    def block(self, rows: slice | None = None) -> dict[str, np.ndarray]:
        """Read the projections/flats/darks for detector ``rows`` into memory, checked finite.

        Returns ``{"projections": (angles, r, cols), "flats": ..., "darks": ..., "flats_after": ...}``
        as float32 numpy arrays (absent parts omitted).
        """
        rows = rows or slice(None)
        out: dict[str, np.ndarray] = {}
        for name in ("projections", "flats", "darks", "flats_after"):
            arr = getattr(self, name)
            if arr is None:
                continue
            part = arr[:, rows, :]
            part = np.asarray(part.compute() if hasattr(part, "compute") else part, dtype=np.float32)
            bad = ~np.isfinite(part)
            if bad.any():
                raise InputFileError(
                    self.path,
                    self.fields.get(name, name),
                    "finite values",
                    f"{int(bad.sum())} NaN/inf value(s)",
                )
            out[name] = part
        return out


# ----------------------------------------------------------------------------- readers
def _open(path: str | os.PathLike):
    import h5py

    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "", "an existing HDF5 file", "no such file")
    if p.is_dir():
        raise InputFileError(p, "", "an HDF5 file", "a directory")
    if p.stat().st_size == 0:
        raise InputFileError(p, "", "an HDF5 file", "an empty file (0 bytes)")
    try:
        return h5py.File(p, "r")
    except OSError as exc:
        raise InputFileError(
            p, "", "a readable HDF5 file (truncated or not HDF5?)", str(exc).split("(")[0].strip()
        ) from None


def _lazy(path: str, name: str, f) -> Any:
    from ..core.datastore import open_h5_array

    d = f[name]
    chunks = d.chunks or "auto"
    try:
        return open_h5_array(path, name, chunks=chunks)
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(path, name, "a readable dataset", str(exc)) from None


def _scalar(f, names: Sequence[str]) -> Any:
    for n in names:
        if n in f:
            v = f[n][()]
            if isinstance(v, bytes):
                v = v.decode(errors="replace")
            elif isinstance(v, np.ndarray):
                v = v.ravel()[0] if v.size else None
                if isinstance(v, bytes):
                    v = v.decode(errors="replace")
            return v.item() if isinstance(v, np.generic) else v
    return None


def read_data_exchange(
    path: str | os.PathLike,
    *,
    data: str = DX_DATA,
    flats: str = DX_FLATS,
    darks: str = DX_DARKS,
    theta: str = DX_THETA,
    validate: bool = True,
) -> Scan:
    """Read a Data Exchange file lazily.

    Parameters
    ----------
    path
        HDF5 file.
    data, flats, darks, theta
        Dataset paths (defaults: the Data Exchange standard; ``theta`` in degrees).
    validate
        Run :meth:`Scan.validate` (reads the flats and darks only).
    """
    path = os.path.abspath(os.fspath(path))
    with _open(path) as f:
        import h5py

        try:
            if data not in f or not isinstance(f[data], h5py.Dataset):
                raise InputFileError(
                    path, data, "a 3-D dataset of projections (angles, rows, columns)", "missing"
                )
            if theta not in f:
                raise InputFileError(
                    path, theta, "rotation angles in degrees (one per projection)", "missing"
                )
            proj = _lazy(path, data, f)
            fl = _lazy(path, flats, f) if flats in f else None
            dk = _lazy(path, darks, f) if darks in f else None
            fa = _lazy(path, DX_FLATS_POST, f) if DX_FLATS_POST in f else None
            th = np.asarray(f[theta][()], dtype=np.float64).ravel()
            units = f[theta].attrs.get("units", b"degrees")
            units = units.decode() if isinstance(units, bytes) else str(units)
            if units.lower().startswith("rad"):
                th = np.rad2deg(th)
            meta = {}
            for key, names in (
                (
                    "energy",
                    (
                        "/measurement/instrument/monochromator/energy",
                        "/measurement/instrument/source/energy",
                        "/exchange/energy",
                    ),
                ),
                (
                    "pixel_size",
                    (
                        "/measurement/instrument/detector/pixel_size_x",
                        "/measurement/instrument/detection_system/objective/resolution",
                    ),
                ),
                (
                    "distance",
                    (
                        "/measurement/instrument/sample/setup/distance",
                        "/measurement/instrument/detector/distance",
                    ),
                ),
                ("sample_name", ("/measurement/sample/name",)),
                ("title", ("/exchange/title",)),
            ):
                v = _scalar(f, names)
                if v is not None:
                    meta[key] = v
            meta.update(
                {
                    k: (v.item() if isinstance(v, np.generic) else v)
                    for k, v in f["/exchange"].attrs.items()
                    if isinstance(v, (int, float, str, np.generic))
                }
                if "/exchange" in f
                else {}
            )
        except OSError as exc:  # a truncated file fails on first access to a dataset
            raise InputFileError(path, data, "a readable dataset (file truncated?)", str(exc)) from None
    scan = Scan(
        proj,
        fl,
        dk,
        th,
        fa,
        meta,
        path,
        {"projections": data, "flats": flats, "darks": darks, "theta": theta, "flats_after": DX_FLATS_POST},
    )
    if validate:
        scan.validate()
    return scan


def _find_nxtomo(f) -> str | None:
    found: list[str] = []

    def visit(name, obj):
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

    ``image_key`` 0 marks projections, 1 flats, 2 darks; flats recorded after the
    last projection become :attr:`Scan.flats_after`.
    """
    import dask.array as da

    path = os.path.abspath(os.fspath(path))
    with _open(path) as f:
        entry = entry or _find_nxtomo(f)
        if entry is None or entry not in f:
            raise InputFileError(
                path, entry or "/entry/definition", "an NXentry with definition 'NXtomo'", "none"
            )
        dpath = f"{entry}/instrument/detector/data"
        kpath = f"{entry}/instrument/detector/image_key"
        apath = f"{entry}/sample/rotation_angle"
        for p, what in (
            (dpath, "detector frames (frames, rows, columns)"),
            (kpath, "image_key per frame (0/1/2)"),
            (apath, "rotation_angle per frame, degrees"),
        ):
            if p not in f:
                raise InputFileError(path, p, what, "missing")
        key = np.asarray(f[kpath][()]).ravel().astype(int)
        ang = np.asarray(f[apath][()], dtype=np.float64).ravel()
        units = f[apath].attrs.get("units", b"degree")
        units = units.decode() if isinstance(units, bytes) else str(units)
        if units.lower().startswith("rad"):
            ang = np.rad2deg(ang)
        meta = {}
        for k, names in (
            ("energy", (f"{entry}/instrument/source/energy", f"{entry}/instrument/monochromator/energy")),
            ("pixel_size", (f"{entry}/instrument/detector/x_pixel_size",)),
            ("distance", (f"{entry}/instrument/detector/distance",)),
            ("sample_name", (f"{entry}/sample/name",)),
            ("title", (f"{entry}/title",)),
        ):
            v = _scalar(f, names)
            if v is not None:
                meta[k] = v
        frames = _lazy(path, dpath, f)
    if frames.ndim != 3 or key.size != frames.shape[0]:
        raise InputFileError(path, kpath, f"one image_key per frame ({frames.shape[0]})", f"{key.size}")
    if ang.size != frames.shape[0]:
        raise InputFileError(path, apath, f"one rotation_angle per frame ({frames.shape[0]})", f"{ang.size}")
    pi = np.flatnonzero(key == 0)
    fi = np.flatnonzero(key == 1)
    di = np.flatnonzero(key == 2)
    if pi.size == 0:
        raise InputFileError(path, kpath, "at least one projection (image_key 0)", "none")
    before = fi[fi < pi[-1]]
    after = fi[fi > pi[-1]]

    def take(idx):
        return da.concatenate([frames[int(i) : int(i) + 1] for i in idx]) if idx.size else None

    scan = Scan(
        frames[pi[0] : pi[-1] + 1] if np.all(np.diff(pi) == 1) else take(pi),
        take(before if before.size else after),
        take(di),
        ang[pi],
        take(after) if before.size and after.size else None,
        meta,
        path,
        {
            "projections": dpath,
            "flats": dpath + " (image_key 1)",
            "darks": dpath + " (image_key 2)",
            "theta": apath,
            "flats_after": dpath + " (image_key 1, after)",
        },
    )
    if validate:
        scan.validate()
    return scan


def read_scan(path: str | os.PathLike, validate: bool = True, **kw: Any) -> Scan:
    """Read a Data Exchange or NXtomo file (detected from its layout)."""
    path = os.path.abspath(os.fspath(path))
    with _open(path) as f:
        is_dx = "/exchange" in f
    return (
        read_data_exchange(path, validate=validate, **kw)
        if is_dx
        else read_nxtomo(path, validate=validate, **kw)
    )


# ----------------------------------------------------------------------------- writers
def _attr(v: Any) -> Any:
    if v is None:
        return "None"
    if isinstance(v, (bool, int, float, str, np.generic)):
        return v
    if isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) for x in v):
        return np.asarray(v)
    return json.dumps(v, default=str)


def write_data_exchange(
    path: str | os.PathLike,
    projections: np.ndarray,
    flats: np.ndarray | None,
    darks: np.ndarray | None,
    theta_deg: np.ndarray,
    *,
    metadata: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    dtype: Any = None,
) -> Path:
    """Write a raw scan as Data Exchange (atomically). Chunks are (angles<=32, rows<=8, columns)."""
    import h5py

    path = Path(path)
    metadata = dict(metadata or {})
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["implements"] = "exchange:measurement"
        ex = f.create_group("exchange")
        na, nr, nc = projections.shape
        ch = (min(na, 32), min(nr, 8), nc)
        ex.create_dataset("data", data=projections.astype(dtype or projections.dtype), chunks=ch)
        if flats is not None:
            ex.create_dataset("data_white", data=flats.astype(dtype or flats.dtype), chunks=(1, ch[1], nc))
        if darks is not None:
            ex.create_dataset("data_dark", data=darks.astype(dtype or darks.dtype), chunks=(1, ch[1], nc))
        ds = ex.create_dataset("theta", data=np.asarray(theta_deg, np.float64))
        ds.attrs["units"] = "degrees"
        if "title" in metadata:
            ex.create_dataset("title", data=str(metadata["title"]))
        for k, v in (attrs or {}).items():
            ex.attrs[k] = _attr(v)
        m = f.create_group("measurement")
        if "sample_name" in metadata:
            m.create_dataset("sample/name", data=str(metadata["sample_name"]))
        if "energy" in metadata:
            e = m.create_dataset("instrument/monochromator/energy", data=float(metadata["energy"]))
            e.attrs["units"] = "keV"
        if "pixel_size" in metadata:
            p = m.create_dataset("instrument/detector/pixel_size_x", data=float(metadata["pixel_size"]))
            p.attrs["units"] = "m"
        if "distance" in metadata:
            d = m.create_dataset("instrument/detector/distance", data=float(metadata["distance"]))
            d.attrs["units"] = "m"
    return path


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


def write_recon(
    path: str | os.PathLike,
    volume: Any,
    *,
    params: Mapping[str, Any] | None = None,
    input_path: str | os.PathLike | None = None,
    first_slice: int = 0,
) -> Path:
    """Write reconstructed slices to ``/exchange/data`` float32 (slices, N, N), atomically.

    ``volume`` may be numpy or dask (written block by block along the slices).
    The parameters and the input's path are stored as attributes of ``/exchange``
    and of the dataset (``units = "1/pixel"``).
    """
    import h5py

    vol = volume if volume.ndim == 3 else volume[None]
    n_s, n_y, n_x = vol.shape
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["implements"] = "exchange"
        ex = f.create_group("exchange")
        d = ex.create_dataset("data", shape=(n_s, n_y, n_x), dtype=np.float32, chunks=(1, n_y, n_x))
        step = max(1, int(2**26 // max(1, n_y * n_x * 4)))
        for a in range(0, n_s, step):
            part = vol[a : a + step]
            d[a : a + step] = np.asarray(part.compute() if hasattr(part, "compute") else part, np.float32)
        d.attrs["units"] = "1/pixel"
        d.attrs["axes"] = "slice:y:x"
        d.attrs["first_slice"] = int(first_slice)
        for k, v in (params or {}).items():
            ex.attrs[k] = _attr(v)
            d.attrs[k] = _attr(v)
        if input_path is not None:
            ex.attrs["input_path"] = os.path.abspath(os.fspath(input_path))
            d.attrs["input_path"] = os.path.abspath(os.fspath(input_path))
    return Path(path)


def read_recon(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """Read a file written by :func:`write_recon`: (volume, attributes of ``/exchange``)."""
    with _open(path) as f:
        if DX_DATA not in f:
            raise InputFileError(path, DX_DATA, "reconstructed slices (slices, N, N)", "missing")
        return f[DX_DATA][()], dict(f["/exchange"].attrs)


def write_tiff_stack(
    folder: str | os.PathLike, volume: np.ndarray, prefix: str = "slice", first: int = 0
) -> list[Path]:
    """Export (slices, N, N) as one float32 TIFF per slice ``prefix_00000.tif`` (each written atomically)."""
    import tifffile

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vol = volume if volume.ndim == 3 else volume[None]
    digits = max(5, len(str(first + len(vol))))
    out = []
    for k in range(len(vol)):
        target = folder / f"{prefix}_{first + k:0{digits}d}.tif"
        with atomic_path(target) as tmp:
            tifffile.imwrite(tmp, np.asarray(vol[k], np.float32))
        out.append(target)
    return out
