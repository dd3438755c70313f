"""Writing a reconstruction for the next tool: Data Exchange HDF5, NeXus (NXtomoproc), TIFF stack.

Each writer stores the reconstruction parameters and the input's provenance
(file, layout, checksums of the read data, software versions; see
:func:`~.provenance.scan_provenance`): HDF5 attributes plus a JSON
``/provenance`` dataset; in NeXus an NXprocess with NXparameters and a JSON
NXnote; in each TIFF a JSON ImageDescription. Every file is written atomically
(:func:`~daisy_widgets.core.atomic.atomic_path`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...core.atomic import atomic_path
from ...core.errors import InputFileError
from .dxchange import hdf5_attr
from .hdf5 import open_h5
from .scan import DX_DATA

#: output formats of ``daisy tomo recon --format``
FORMATS = ("hdf5", "nexus", "tiff")
NEXUS_DATA = "/entry/data/data"
NEXUS_PROVENANCE = "/entry/reconstruction/provenance/data"


def _blocks(vol: Any, n_y: int, n_x: int):
    step = max(1, int(2**26 // max(1, n_y * n_x * 4)))
    for a in range(0, vol.shape[0], step):
        part = vol[a : a + step]
        yield a, np.asarray(part.compute() if hasattr(part, "compute") else part, np.float32)


def write_recon(
    path: str | os.PathLike,
    volume: Any,
    *,
    params: Mapping[str, Any] | None = None,
    input_path: str | os.PathLike | None = None,
    first_slice: int = 0,
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write reconstructed slices to ``/exchange/data`` float32 (slices, N, N), atomically.

    ``volume`` may be numpy or dask (written block by block along the slices).
    The parameters and the input's path are stored as attributes of ``/exchange``
    and of the dataset (``units = "1/pixel"``); ``provenance`` as JSON in ``/provenance``.
    """
    vol = volume if volume.ndim == 3 else volume[None]
    n_s, n_y, n_x = vol.shape
    with recon_writer(
        path, (n_s, n_y, n_x), params=params, input_path=input_path, first_slice=first_slice
    ) as out:
        for a, block in _blocks(vol, n_y, n_x):
            out.write(a, block)
        out.provenance = provenance
    return Path(path)


class ReconFileWriter:
    """Slices written into an open ``/exchange/data`` dataset (see :func:`recon_writer`).

    ``provenance`` may be set any time before the writer closes; it is stored then.
    """

    def __init__(self, dataset: Any):
        self.dataset = dataset
        self.provenance: Mapping[str, Any] | None = None
        self.bytes_written = 0

    def write(self, first: int, block: np.ndarray) -> None:
        """Store float32 (k, N, N) ``block`` as slices ``first .. first + k - 1``."""
        self.dataset[first : first + len(block)] = block
        self.bytes_written += int(block.nbytes)


@contextlib.contextmanager
def recon_writer(
    path: str | os.PathLike,
    shape: tuple[int, int, int],
    *,
    params: Mapping[str, Any] | None = None,
    input_path: str | os.PathLike | None = None,
    first_slice: int = 0,
) -> Iterator[ReconFileWriter]:
    """Open a Data Exchange reconstruction file of ``shape`` (slices, N, N) to be filled block by block.

    The file is written to a temporary name and renamed onto ``path`` only when the
    ``with`` block ends without an exception (otherwise nothing is left behind). The
    layout, attributes and provenance are those of :func:`write_recon`.
    """
    import h5py

    n_s, n_y, n_x = (int(v) for v in shape)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["implements"] = "exchange"
        ex = f.create_group("exchange")
        d = ex.create_dataset("data", shape=(n_s, n_y, n_x), dtype=np.float32, chunks=(1, n_y, n_x))
        out = ReconFileWriter(d)
        yield out
        d.attrs["units"] = "1/pixel"
        d.attrs["axes"] = "slice:y:x"
        d.attrs["first_slice"] = int(first_slice)
        for k, v in (params or {}).items():
            ex.attrs[k] = hdf5_attr(v)
            d.attrs[k] = hdf5_attr(v)
        if input_path is not None:
            ex.attrs["input_path"] = os.path.abspath(os.fspath(input_path))
            d.attrs["input_path"] = os.path.abspath(os.fspath(input_path))
        if out.provenance:
            f.create_dataset("provenance", data=json.dumps(out.provenance, default=str))
            ex.attrs["software_versions"] = json.dumps(out.provenance.get("software", {}))


def read_recon(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """Read a file written by :func:`write_recon` or :func:`write_recon_nexus`: (volume, parameters)."""
    with open_h5(path) as f:
        if DX_DATA in f:
            return f[DX_DATA][()], dict(f["/exchange"].attrs)
        if NEXUS_DATA in f:
            params = f.get("/entry/reconstruction/parameters")
            attrs = {
                k: (v[()].decode() if isinstance(v[()], bytes) else v[()]) for k, v in (params or {}).items()
            }
            return f[NEXUS_DATA][()], attrs
        raise InputFileError(
            path, DX_DATA, f"reconstructed slices (slices, N, N) at {DX_DATA} or {NEXUS_DATA}", "missing"
        )


def write_recon_nexus(
    path: str | os.PathLike,
    volume: Any,
    *,
    params: Mapping[str, Any] | None = None,
    input_path: str | os.PathLike | None = None,
    first_slice: int = 0,
    provenance: Mapping[str, Any] | None = None,
    sample_name: str = "",
) -> Path:
    """Write reconstructed slices as NeXus ``NXtomoproc`` (atomically), for NeXus tools (silx view, h5web, nabu/tomwer).

    Layout: ``/entry`` (NXentry, ``definition = NXtomoproc``, default plot ``data``),
    ``/entry/data`` (NXdata: ``data`` float32 (slices, y, x) in 1/pixel, axes ``slice``, ``y``, ``x`` in pixels),
    ``/entry/reconstruction`` (NXprocess: ``program``, ``version``, ``date``; ``parameters`` NXparameters
    with ``raw_file`` and every parameter; ``provenance`` NXnote of JSON), ``/entry/sample/name``,
    ``/entry/instrument/source``.
    """
    import h5py

    vol = volume if volume.ndim == 3 else volume[None]
    n_s, n_y, n_x = vol.shape
    prov = dict(provenance or {})
    version = prov.get("software", {}).get("daisy-widgets", "")
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(
            {"NX_class": "NXroot", "default": "entry", "creator": "daisy_widgets", "file_time": now}
        )
        f.attrs["file_name"] = os.path.basename(os.fspath(path))
        e = f.create_group("entry")
        e.attrs.update({"NX_class": "NXentry", "default": "data"})
        e["definition"] = "NXtomoproc"
        e["title"] = f"reconstruction of {os.path.basename(os.fspath(input_path or ''))}"
        src = e.create_group("instrument/source")
        e["instrument"].attrs["NX_class"] = "NXinstrument"
        src.attrs["NX_class"] = "NXsource"
        src["type"], src["name"], src["probe"] = "unknown", "unknown", "x-ray"
        s = e.create_group("sample")
        s.attrs["NX_class"] = "NXsample"
        s["name"] = sample_name or "unknown"
        r = e.create_group("reconstruction")
        r.attrs["NX_class"] = "NXprocess"
        r["program"], r["version"], r["date"] = "daisy_widgets.tomography", version, now
        p = r.create_group("parameters")
        p.attrs["NX_class"] = "NXparameters"
        p["raw_file"] = os.path.abspath(os.fspath(input_path)) if input_path is not None else ""
        for k, v in (params or {}).items():
            p[k] = hdf5_attr(v)
        p["first_slice"] = int(first_slice)
        note = r.create_group("provenance")
        note.attrs["NX_class"] = "NXnote"
        note["type"] = "application/json"
        note["data"] = json.dumps(prov, default=str)
        dg = e.create_group("data")
        dg.attrs.update({"NX_class": "NXdata", "signal": "data"})
        dg.attrs["axes"] = np.array(["slice", "y", "x"], dtype=h5py.string_dtype())
        d = dg.create_dataset("data", shape=(n_s, n_y, n_x), dtype=np.float32, chunks=(1, n_y, n_x))
        for a, block in _blocks(vol, n_y, n_x):
            d[a : a + len(block)] = block
        d.attrs.update({"units": "1/pixel", "interpretation": "image", "first_slice": int(first_slice)})
        for name, values in (
            ("slice", first_slice + np.arange(n_s)),
            ("y", np.arange(n_y)),
            ("x", np.arange(n_x)),
        ):
            ax = dg.create_dataset(name, data=values.astype(np.int64))
            ax.attrs["units"] = "pixel"
            dg.attrs[f"{name}_indices"] = ("slice", "y", "x").index(name)
    return Path(path)


def write_tiff_stack(
    folder: str | os.PathLike,
    volume: np.ndarray,
    prefix: str = "slice",
    first: int = 0,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Export (slices, N, N) as one float32 TIFF per slice ``prefix_00000.tif`` (each written atomically).

    ``metadata`` (parameters, provenance) is stored as JSON in each file's ImageDescription
    (tifffile's shaped-metadata form, ``{"shape": [N, N], ...}``; ``tifffile.TiffFile(f).shaped_metadata``
    reads it), with the slice index (``slice``) added.
    """
    import tifffile

    from .provenance import software_versions

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vol = volume if volume.ndim == 3 else volume[None]
    digits = max(5, len(str(first + len(vol))))
    version = software_versions().get("daisy-widgets", "")
    out = []
    for k in range(len(vol)):
        target = folder / f"{prefix}_{first + k:0{digits}d}.tif"
        kw: dict[str, Any] = {}
        if metadata is not None:
            desc = json.loads(
                json.dumps({**dict(metadata), "slice": first + k, "units": "1/pixel"}, default=str)
            )
            # tifffile's "shaped" JSON ImageDescription: {"shape": [N, N], ...our keys}
            kw = {"metadata": desc, "software": f"daisy_widgets {version}"}
        with atomic_path(target) as tmp:
            tifffile.imwrite(tmp, np.asarray(vol[k], np.float32), **kw)
        out.append(target)
    return out


def read_provenance(path: str | os.PathLike) -> dict[str, Any]:
    """The parameters/provenance JSON stored by any writer here (HDF5, NeXus, or one TIFF of a stack)."""
    p = os.fspath(path)
    if p.lower().endswith((".tif", ".tiff")):
        import tifffile

        with tifffile.TiffFile(p) as tif:
            if tif.is_shaped and tif.shaped_metadata:
                return {k: v for k, v in tif.shaped_metadata[0].items() if k != "shape"}
            desc = tif.pages[0].description
        try:
            return json.loads(desc)
        except ValueError:
            raise InputFileError(
                p, "ImageDescription", "JSON parameters and provenance", repr(desc[:80])
            ) from None
    with open_h5(p) as f:
        for name in ("/provenance", NEXUS_PROVENANCE):
            if name in f:
                v = f[name][()]
                return json.loads(v.decode() if isinstance(v, bytes) else v)
    raise InputFileError(p, "/provenance", "provenance JSON (written by daisy tomo recon)", "missing")
