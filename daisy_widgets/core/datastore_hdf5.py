"""The data store's HDF5 persistence: atomic writes, lazy reads.

Saving goes through :func:`~daisy_widgets.core.atomic.atomic_path` (temporary file,
fsync, rename), so a kill mid-write never leaves a half-written file where the old one
was. Dask arrays are written block by block (never whole in memory).

Reading is lazy: every N-d dataset becomes a dask array over the file's own chunks
(:func:`open_h5_array`), so a dataset larger than memory is processed block by block;
the dask arrays pickle to Dask workers (path + dataset name).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_path
from .datastore_dask import iter_blocks, n_blocks
from .datastore_objects import is_dask, is_table, norm_key
from .errors import Cancelled, InputFileError

KIND_ATTR = "daisy_kind"
#: target size of the blocks of lazily opened HDF5 datasets
AUTO_BLOCK_BYTES = "64MiB"


# -- lazy HDF5 reading ---------------------------------------------------------------
_handles: dict[tuple, Any] = {}
_handles_lock = threading.Lock()


def _h5file(path: str):
    import h5py

    st = os.stat(path)
    key = (path, st.st_ino, st.st_mtime_ns, os.getpid())
    with _handles_lock:
        f = _handles.get(key)
        if f is None or not f.id.valid:
            for k in [k for k in _handles if k[0] == path]:  # the file was replaced: drop stale handles
                try:
                    _handles.pop(k).close()
                except Exception:
                    pass
            f = _handles[key] = h5py.File(path, "r")
        return f


def close_cached_files() -> None:
    """Close the HDF5 handles kept open for lazy reads in this process."""
    with _handles_lock:
        for f in _handles.values():
            try:
                f.close()
            except Exception:
                pass
        _handles.clear()


class H5ArraySource:
    """A picklable, array-like view of one HDF5 dataset (path + name), for ``dask.array.from_array``.

    Each read opens (and caches per process) the file read-only, so Dask workers
    in other processes read their own blocks directly from the file.
    """

    def __init__(self, path: str | os.PathLike, name: str):
        import h5py

        self.path = os.path.abspath(os.fspath(path))
        self.name = name
        try:
            with h5py.File(self.path, "r") as f:
                d = f[name]
                if not isinstance(d, h5py.Dataset):
                    raise InputFileError(self.path, name, "an HDF5 dataset", "a group")
                self.shape = tuple(d.shape)
                self.dtype = d.dtype
                self.chunks = d.chunks
        except KeyError:
            raise InputFileError(self.path, name, "an HDF5 dataset", "nothing at that path") from None
        except OSError as exc:
            raise InputFileError(self.path, "", "a readable HDF5 file", str(exc)) from None
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        return _h5file(self.path)[self.name][key]

    def __getstate__(self) -> dict:
        return dict(self.__dict__)

    def __repr__(self) -> str:
        return f"H5ArraySource({self.path!r}, {self.name!r}, shape={self.shape}, dtype={self.dtype})"


def open_h5_array(path: str | os.PathLike, name: str, chunks: Any = "auto"):
    """A dask array over one HDF5 dataset, with blocks aligned on the file's chunks."""
    import dask
    import dask.array as da

    src = H5ArraySource(path, name)
    # "auto" blocks: whole HDF5 chunks, about 64 MiB, so a few blocks fit a small worker
    with dask.config.set({"array.chunk-size": AUTO_BLOCK_BYTES}):
        return da.from_array(
            src,
            chunks=chunks,
            name=f"h5-{src.path}-{name}-{os.stat(src.path).st_mtime_ns}",
            lock=False,
            asarray=True,
            meta=np.empty((0,) * src.ndim, src.dtype),
        )


def read_dataset(path: str, name: str, node: Any, lazy: bool, chunks: Any) -> Any:
    kind = node.attrs.get(KIND_ATTR, "")
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    if kind == "json":
        return json.loads(node.asstr()[()])
    if node.dtype.kind in "SO" and node.shape == ():
        v = node[()]
        return v.decode() if isinstance(v, bytes) else v
    if node.shape == () or node.dtype.names is not None or not lazy:
        v = node[()]
        return v.item() if isinstance(v, np.generic) else v
    return open_h5_array(path, name, chunks)


def _hdf5_chunks(
    shape: tuple[int, ...], itemsize: int, block: tuple[int, ...] | None, target: int = 4 << 20
) -> tuple[int, ...] | None:
    if not shape or 0 in shape:
        return None
    c = list(block or shape)
    c = [max(1, min(a, b)) for a, b in zip(c, shape, strict=False)]
    i = 0
    while int(np.prod(c)) * itemsize > target and i < len(c):
        if c[i] > 1:
            c[i] = max(1, c[i] // 2)
        else:
            i += 1
    return tuple(c)


def write_object(
    f: Any, key: str, obj: Any, tick: Callable[[int], None], cancel: Any, compression: str | None
) -> None:
    if type(obj).__name__ == "Future" and hasattr(obj, "result"):
        obj = obj.result()
    if type(obj).__module__.startswith("cupy"):
        obj = obj.get()
    if is_dask(obj):
        dset = f.create_dataset(
            key,
            shape=obj.shape,
            dtype=obj.dtype,
            compression=compression,
            chunks=_hdf5_chunks(obj.shape, obj.dtype.itemsize, obj.chunksize),
        )
        for slc, block in iter_blocks(obj, cancel=cancel):
            dset[slc] = block
            tick(1)
        return
    if isinstance(obj, (np.ndarray, np.generic)) or np.isscalar(obj):
        arr = np.asarray(obj)
        if arr.dtype.kind == "U":
            f.create_dataset(key, data=arr.astype(object), dtype=_str_dtype())
        elif arr.ndim == 0:
            f.create_dataset(key, data=arr)
        else:
            f.create_dataset(
                key,
                data=arr,
                compression=compression,
                chunks=_hdf5_chunks(arr.shape, arr.dtype.itemsize, None) if arr.nbytes > (4 << 20) else None,
            )
        if is_table(arr):
            f[key].attrs[KIND_ATTR] = "table"
        tick(1)
        return
    try:
        text = json.dumps(obj)
    except TypeError:
        raise TypeError(
            f"data-store object {key!r} of type {type(obj).__name__} cannot be saved to HDF5 "
            "(expected an array, a table, a scalar, a string or a JSON-able value)"
        ) from None
    f.create_dataset(key, data=text, dtype=_str_dtype())
    f[key].attrs[KIND_ATTR] = "json"
    tick(1)


def _str_dtype() -> Any:
    import h5py

    return h5py.string_dtype()


def attr_value(v: Any) -> Any:
    if isinstance(v, (dict, list, tuple)) and not (
        isinstance(v, (list, tuple)) and v and all(isinstance(x, (int, float)) for x in v)
    ):
        return json.dumps(v)
    if v is None:
        return "null"
    return v


def from_attr(v: Any) -> Any:
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def write_h5(
    path: str | os.PathLike,
    objects: Mapping[str, Any],
    attrs: Mapping[str, Mapping[str, Any]],
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
    compression: str | None = None,
) -> Path:
    """Write ``{key: object}`` and ``{key: attributes}`` (of objects or groups) to HDF5 atomically.

    ``progress(blocks written, blocks total)``; on ``cancel`` the temporary file is removed,
    the target is untouched, and :class:`Cancelled` is raised.
    """
    import h5py

    total = sum(n_blocks(v) for v in objects.values())
    done = [0]

    def tick(n: int = 1) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    target = Path(path)
    with atomic_path(target) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["daisy_format"] = 1
        for k, obj in objects.items():
            if cancel is not None and cancel.cancelled:
                raise Cancelled("cancelled by the user; nothing was written to " + str(target))
            write_object(f, k, obj, tick, cancel, compression)
        for k, a in attrs.items():
            node = f[k] if k in f else f.require_group(k)
            for name, val in a.items():
                node.attrs[name] = attr_value(val)
    return target


def read_h5_file(
    path: str | os.PathLike, *, lazy: bool = True, chunks: Any = "auto", prefix: str | None = None
) -> Iterator[tuple[str, bool, Any, dict[str, Any]]]:
    """Every dataset and group of an HDF5 file as ``(key, is a dataset, object or None, attributes)``.

    Raises
    ------
    InputFileError
        If the file cannot be read.
    """
    import h5py

    path = os.path.abspath(os.fspath(path))
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(path, "", "a readable HDF5 file", str(exc)) from None
    pre = f"{norm_key(prefix)}/" if prefix else ""
    found: list[tuple[str, bool, Any, dict[str, Any]]] = []
    with f:

        def visit(name: str, node: Any) -> None:
            is_dataset = isinstance(node, h5py.Dataset)
            value = read_dataset(path, name, node, lazy, chunks) if is_dataset else None
            attrs = {a: from_attr(v) for a, v in node.attrs.items() if a not in (KIND_ATTR, "daisy_format")}
            found.append((pre + name, is_dataset, value, attrs))

        f.visititems(visit)
    return iter(found)


def read_h5_dataset(
    path: str | os.PathLike, dataset: str, *, lazy: bool = True, chunks: Any = "auto"
) -> tuple[Any, dict[str, Any]]:
    """One HDF5 dataset (lazily by default) and its attributes.

    Raises
    ------
    InputFileError
        If the file cannot be read or has no such dataset.
    """
    import h5py

    path = os.path.abspath(os.fspath(path))
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(path, "", "a readable HDF5 file", str(exc)) from None
    with f:
        node = f.get(dataset)
        if not isinstance(node, h5py.Dataset):
            raise InputFileError(
                path, dataset, "an HDF5 dataset", "a group" if node is not None else "nothing"
            )
        value = read_dataset(path, dataset, node, lazy, chunks)
        attrs = {a: from_attr(v) for a, v in node.attrs.items() if a != KIND_ATTR}
    return value, attrs
