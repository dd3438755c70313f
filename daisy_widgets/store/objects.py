"""One interface for local files and service entries: :func:`open_scan` and :func:`open_observation`.

``open_scan`` returns the tomography package's ``Scan`` (projections, flats,
darks as dask arrays; theta in degrees; metadata) for a local HDF5 file and for
a service entry alike; remote arrays are dask arrays over the service's chunks,
so a slice reads only the chunks it touches. The ``Scan`` class is found through
:data:`SCAN_CLASSES` (a lazy import: ``store`` does not import ``tomography`` at
import time); without the tomography package, :class:`ScanData` (same fields) is used.

``open_observation`` returns an :class:`Observation` (exposure folder, Level-1
files by kind, metadata); a service entry is fetched into the user's cache first
(checksums verified), since the HXMT pipeline reads local FITS files.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InputFileError

#: where the Scan class comes from, tried in order ("module:attribute")
SCAN_CLASSES = ("daisy_widgets.tomography.io:Scan",)


@dataclass
class ScanData:
    """Fallback scan object with the fields of ``daisy_widgets.tomography.io.Scan``."""

    projections: Any
    flats: Any
    darks: Any
    theta: np.ndarray
    flats_after: Any = None
    metadata: dict = field(default_factory=dict)
    path: str = ""
    fields: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.projections.shape)


def scan_class() -> type:
    for spec in SCAN_CLASSES:
        mod, _, attr = spec.partition(":")
        try:
            return getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError):
            continue
    return ScanData


class RemoteArray:
    """Array-like view of a service array: indexing fetches only the requested region over HTTP."""

    def __init__(self, client: Any):
        self.client = client
        self.shape = tuple(int(s) for s in client.shape)
        self.dtype = np.dtype(client.dtype)
        self.ndim = len(self.shape)
        self._reader: Any = None  # :class:`.region_reads.RegionReader`, False where it is not usable

    def __getstate__(self) -> dict:
        # the reader holds this process's connections: a copy elsewhere makes its own
        return {**self.__dict__, "_reader": None}

    def _region_reader(self) -> Any:
        if self._reader is None:
            from .region_reads import RegionReader

            try:
                reader = RegionReader(self.client)
                self._reader = reader if reader.usable() else False
            except (AttributeError, KeyError, TypeError, ValueError):  # not Tiled's HTTP array client
                self._reader = False
        return self._reader

    def __getitem__(self, key: Any) -> np.ndarray:
        # one request for the region, straight from this thread: Tiled's ``read`` would build
        # and run a one-task dask graph around the same request (its ``_get_slice``)
        get_slice = getattr(self.client, "_get_slice", None)
        region = _basic_region(key, self.shape)
        if get_slice is not None and region is not None:
            shape = _region_shape(region)
            nbytes = int(np.prod(shape, dtype=np.int64)) * self.dtype.itemsize
            if nbytes < getattr(self.client, "RESPONSE_BYTESIZE_LIMIT", 0):
                from tiled.ndslice import NDSlice

                slc = NDSlice(*region)
                reader = self._region_reader() if 0 < nbytes <= DIRECT_READ_BYTES else False
                if reader:  # kept-alive connection, body read into the result (writable, no copy)
                    out = reader.read(slc.to_numpy_str(), shape, self.dtype)
                    if out is not None:
                        return out
                return np.asarray(get_slice(slc))
        return np.asarray(self.client[key])


#: regions up to this size (bytes) are read by :class:`.region_reads.RegionReader` (slices); whole
#: blocks stay on Tiled's client: 32 MB blocks on 4 threads were slower the direct way (measured
#: 3.3-12 s against 1.7-6 s for 0.5 GB at load 5-6; not profiled further)
DIRECT_READ_BYTES = 8 * 2**20

#: size of a remote block (bytes): the file's chunks are grouped along axis 0 up to this; a region
#: no bigger than this (one projection, one sinogram row) is read in one HTTP request
MIN_BLOCK_BYTES = 32 * 2**20


def _basic_region(key: Any, shape: tuple[int, ...]) -> tuple | None:
    """``key`` as one int or forward slice per axis (``slice(start, stop, step)``, bounds resolved);
    None when it is anything else (fancy or boolean indexing, ``None``, out-of-range ints)."""
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:
        return None
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1 :]
    if len(key) > len(shape):
        return None
    key = key + (slice(None),) * (len(shape) - len(key))
    out: list = []
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            k = int(k)
            if not -n <= k < n:
                return None
            out.append(k + n if k < 0 else k)
        elif isinstance(k, slice) and (
            k.step is None or (isinstance(k.step, (int, np.integer)) and k.step > 0)
        ):
            start, stop, step = k.indices(n)
            out.append(slice(start, max(start, stop), None if step == 1 else step))
        else:
            return None
    return tuple(out)


def _region_shape(region: tuple) -> tuple[int, ...]:
    return tuple(len(range(r.start, r.stop, r.step or 1)) for r in region if isinstance(r, slice))


def _read_region(remote: RemoteArray, region: tuple) -> np.ndarray:
    out = remote[region]
    # writable, as h5py's and dask's own results are (the response's bytes are read-only)
    return out if out.flags.writeable else out.copy()


def _dask_array_class() -> type:
    import dask.array as da

    class RemoteDaskArray(da.Array):
        """A dask array over a service array whose small regions are read in one HTTP request.

        Indexing with ints and forward slices (``x[i]``, ``x[:, r]``, ``x[a:b, r0:r1]``) that selects
        no more than a block's bytes gives a one-block array read by a single request for the
        region; anything else is dask's own indexing over the blocks. Everything derived from it
        (arithmetic, slices of slices) is a plain dask array.
        """

        def __getitem__(self, key: Any) -> Any:
            remote, limit = self.__dict__.get("_daisy_remote"), self.__dict__.get("_daisy_limit", 0)
            region = _basic_region(key, self.shape) if remote is not None else None
            if region is not None:
                shape = _region_shape(region)
                nbytes = int(np.prod(shape, dtype=np.int64)) * self.dtype.itemsize
                if 0 < nbytes <= limit:
                    import hashlib

                    # deterministic, as dask's tokenize, from the array's name and the region's repr
                    token = hashlib.sha1(repr((self.name, region)).encode()).hexdigest()
                    name = f"daisy-remote-region-{token}"
                    graph = {(name,) + (0,) * len(shape): (_read_region, remote, region)}
                    cls = RemoteRegion if shape else da.Array
                    out = cls(
                        graph, name, tuple((s,) for s in shape), meta=np.empty((0,) * len(shape), self.dtype)
                    )
                    out._daisy_region = (name, remote, region)
                    return out
            return super().__getitem__(key)

    class RemoteRegion(da.Array):
        """A region of a service array: one task, one HTTP request.

        ``compute()`` with a local scheduler (dask's default threads, or synchronous) and no
        options reads the region in the calling thread: the same one task, without handing it
        to a worker thread and back (about 2 ms a slice). A distributed scheduler, or any option
        given, takes dask's own way.
        """

        def compute(self, **kwargs: Any) -> Any:
            import dask.local
            import dask.threaded
            from dask.base import get_scheduler

            name, remote, region = self.__dict__.get("_daisy_region", (None, None, None))
            if (
                not kwargs
                and name == self.name
                and get_scheduler(collections=[self])
                in (
                    dask.threaded.get,
                    dask.local.get_sync,
                )
            ):
                return _read_region(remote, region)
            return super().compute(**kwargs)

    return RemoteDaskArray


def remote_dask(client: Any, file_chunks: list[int] | None = None) -> Any:
    """Dask array over a service array whose blocks follow the file's HDF5 chunks.

    Blocks are the file's chunks grouped along the first two axes up to :data:`MIN_BLOCK_BYTES`
    (one HTTP request each when the whole block is needed, a few in flight at once). A region
    of at most that size taken with ints and slices (a projection, a sinogram row) is one HTTP
    request for exactly that region; other selections go through dask's own ``getitem``,
    which dask fuses with the block read, so they too request only what they touch.
    """
    import dask.array as da
    from dask.array.chunk import getitem as fusable_getitem

    arr = RemoteArray(client)
    if arr.ndim == 0:
        return da.from_array(arr[()], chunks=())
    fc = [int(c) for c in (file_chunks or arr.shape)][: arr.ndim]
    fc += list(arr.shape[len(fc) :])
    fc = [max(1, min(c, s)) for c, s in zip(fc, arr.shape, strict=False)]
    # grow the block (double along the axis, of the first two, with more blocks left) up to the target
    # size: balanced blocks keep both a projection and a sinogram row to a few requests
    grow = [a for a in range(min(2, arr.ndim))]
    while int(np.prod(fc, dtype=np.int64)) * arr.dtype.itemsize < MIN_BLOCK_BYTES:
        left = [(-(-arr.shape[a] // fc[a]), a) for a in grow if fc[a] < arr.shape[a]]
        if not left:
            break
        _, a = max(left, key=lambda t: (t[0], -t[1]))
        fc[a] = min(arr.shape[a], fc[a] * 2)
    plain = da.from_array(
        arr,
        chunks=tuple(fc),
        getitem=fusable_getitem,
        lock=False,
        name=f"daisy-remote-{getattr(client, 'uri', id(client))}",
    )
    out = _dask_array_class()(plain.dask, plain.name, plain.chunks, meta=plain._meta)
    out._daisy_remote, out._daisy_limit = arr, MIN_BLOCK_BYTES
    return out


def is_service_uri(uri: str | os.PathLike) -> bool:
    """True for ``tomography/<name>``, ``hxmt/<ExpID>``, ``tiled:...`` or ``http(s)://`` service addresses
    (an existing local path always wins)."""
    s = os.fspath(uri)
    if Path(s).exists():
        return False
    return s.startswith(("http://", "https://", "tiled:")) or bool(re.match(r"^(tomography|hxmt|users)/", s))


def _service_path(uri: str) -> tuple[str | None, str]:
    """``(base_url or None, path inside the service)``."""
    if uri.startswith("tiled:"):
        return None, uri[len("tiled:") :].lstrip("/")
    if uri.startswith(("http://", "https://")):
        for marker in ("/api/v1/metadata/", "/api/v1/array/full/", "/api/v1/"):
            if marker in uri:
                base, _, rest = uri.partition(marker)
                return base + "/api", rest.strip("/")
        return uri, ""
    return None, uri.strip("/")


def open_scan(
    uri: str | os.PathLike,
    *,
    url: str | None = None,
    api_key: str | None = None,
    client: Any = None,
    validate: bool = True,
) -> Any:
    """Open a tomography scan from a local file or the data service.

    Parameters
    ----------
    uri
        Local HDF5 path (Data Exchange or NXtomo), or a service entry (``tomography/<name>``,
        ``tiled:tomography/<name>`` or its full ``http://.../api/v1/metadata/...`` address).

    Returns
    -------
    Scan
        projections ``(angles, rows, columns)``, flats/darks ``(frames, rows, columns)`` as dask arrays,
        theta ``(angles,)`` in degrees, metadata (energy keV, pixel_size m, sample_name).
    """
    if not is_service_uri(uri):
        from ..tomography.io import read_scan

        return read_scan(uri, validate=validate)
    from .client import _node, connect

    base, path = _service_path(os.fspath(uri))
    c = client if client is not None else connect(base or url, api_key, structure_clients="numpy")
    node = _node(c, path)
    meta = dict(node.metadata)
    where = f"{getattr(c, 'uri', '')}/{path}"
    fmt = meta.get("format")
    user_meta = {
        k: meta[k] for k in ("energy", "pixel_size", "distance", "sample_name", "title") if k in meta
    }
    user_meta.update(meta.get("attrs") or {})
    if not user_meta.get("sample_name"):
        user_meta.pop("sample_name", None)
    cls = scan_class()
    chunks = meta.get("chunks")
    if fmt == "data-exchange":
        ex = node["exchange"]
        proj = remote_dask(ex["data"], chunks)
        flats = remote_dask(ex["data_white"]) if "data_white" in ex else None
        darks = remote_dask(ex["data_dark"]) if "data_dark" in ex else None
        after = remote_dask(ex["data_white_post"]) if "data_white_post" in ex else None
        if "theta" not in ex:
            raise InputFileError(where, "/exchange/theta", "rotation angles in degrees", "missing")
        th_node = ex["theta"]
        theta = np.asarray(th_node.read(), dtype=np.float64).ravel()
        units = str(dict(th_node.metadata).get("units", "degrees"))
        if units.lower().startswith("rad"):
            theta = np.rad2deg(theta)
        fields = {
            "projections": "/exchange/data",
            "flats": "/exchange/data_white",
            "darks": "/exchange/data_dark",
            "theta": "/exchange/theta",
            "flats_after": "/exchange/data_white_post",
        }
        scan = cls(proj, flats, darks, theta, after, user_meta, where, fields)
    elif fmt == "nxtomo":
        import dask.array as da

        dpath = meta["data"]
        entry = dpath.split("/instrument/")[0]
        frames = remote_dask(_node(node, dpath), chunks)
        key = np.asarray(_node(node, f"{entry}/instrument/detector/image_key").read()).ravel().astype(int)
        ang_node = _node(node, f"{entry}/sample/rotation_angle")
        ang = np.asarray(ang_node.read(), dtype=np.float64).ravel()
        if str(dict(ang_node.metadata).get("units", "degree")).lower().startswith("rad"):
            ang = np.rad2deg(ang)
        pi, fi, di = (np.flatnonzero(key == k) for k in (0, 1, 2))
        before, after = fi[fi < pi[-1]], fi[fi > pi[-1]]

        def take(idx: np.ndarray) -> Any:
            return da.concatenate([frames[int(i) : int(i) + 1] for i in idx]) if idx.size else None

        proj = frames[pi[0] : pi[-1] + 1] if np.all(np.diff(pi) == 1) else take(pi)
        scan = cls(
            proj,
            take(before if before.size else after),
            take(di),
            ang[pi],
            take(after) if before.size and after.size else None,
            user_meta,
            where,
            {"projections": dpath, "theta": f"{entry}/sample/rotation_angle"},
        )
    else:
        raise InputFileError(
            where, "metadata.format", "a tomography scan entry (data-exchange or nxtomo)", repr(fmt)
        )
    if validate and hasattr(scan, "validate"):
        scan.validate()
    return scan


@dataclass
class Observation:
    """One HXMT Level-1 exposure on local disk.

    Attributes
    ----------
    root
        Exposure folder (holding ``HE/ ME/ LE/ ACS/ AUX/``).
    files
        ``{kind: path}`` of the highest version of each Level-1 file (``"HE-Evt"``, ``"EHK"``, ``"Att"``...).
    metadata
        target, ra, dec (deg), obs_id, exp_id, start/stop (UTC), tstart/tstop (mission s), exposure (s),
        instruments, data_version.
    source
        ``"local"`` or the service entry it was fetched from.
    """

    root: Path
    files: dict[str, Path]
    metadata: dict[str, Any]
    source: str = "local"

    @property
    def instruments(self) -> list[str]:
        return list(self.metadata.get("instruments") or [])

    @property
    def exp_id(self) -> str:
        return str(self.metadata.get("exp_id", ""))


def _local_observation(root: Path, source: str = "local") -> Observation:
    from .scanning import find_exposures

    root = Path(root)
    if not root.is_dir():
        raise InputFileError(
            root, "", "an HXMT exposure folder with HE/, ME/, LE/, ACS/, AUX/", "no such folder"
        )
    found = [(e, f) for e, f in find_exposures(root.parent, checksum=False) if e.root == root]
    if not found:
        inner = list(find_exposures(root, checksum=False))
        if len(inner) != 1:
            raise InputFileError(
                root,
                "",
                "one exposure folder with Level-1 files HXMT_<ExpID>_<kind>_FFFFFF_V<n>_L1P.FITS",
                f"{len(inner)} exposures",
            )
        found = inner
    exp, _ = found[0]
    files: dict[str, Path] = {}
    for f in sorted(exp.files, key=lambda f: f.version):
        files[f.kind] = f.path
    return Observation(exp.root, files, exp.metadata, source)


def open_observation(
    uri: str | os.PathLike,
    *,
    url: str | None = None,
    api_key: str | None = None,
    client: Any = None,
    cache: str | os.PathLike | None = None,
) -> Observation:
    """Open an HXMT exposure from a local folder or the data service (fetched into the cache, verified)."""
    if not is_service_uri(uri):
        return _local_observation(Path(uri))
    from .client import connect, fetch_observation

    base, path = _service_path(os.fspath(uri))
    c = client if client is not None else connect(base or url, api_key)
    folder = fetch_observation(path, cache=cache, client=c)
    return _local_observation(folder, source=path)
