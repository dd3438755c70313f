"""The data store: a tree of named data objects that workflow steps read and write.

Keys are paths, ``"raw/data"``, ``"work/recon"``; groups exist implicitly (every
prefix of a key) and, like objects, carry attributes. Objects are numpy, CuPy or
dask arrays, tables (numpy structured arrays, or a dict of equal-length
columns given to :func:`table`), scalars, strings, or small JSON-able values.

Objects live for the workflow that produced them; those marked with
:meth:`DataStore.persist` are kept when it ends and are what
:meth:`DataStore.save` writes by default. Saving goes through
:func:`~daisy_widgets.core.atomic.atomic_path` (temporary file, fsync, rename),
so a kill mid-write never leaves a half-written file where the old one was.
Dask arrays are written block by block (never whole in memory).

:meth:`DataStore.open` reads an HDF5 file lazily: every dataset becomes a dask
array over the file's own chunks, so a dataset larger than memory is processed
block by block; the dask arrays pickle to Dask workers (path + dataset name).

Example::

    store = DataStore()
    store["raw/data"] = np.ones((180, 64, 64), np.float32)
    store.attrs("raw/data")["units"] = "counts"
    store.persist("raw/data")
    store.save("out.h5")
    lazy = DataStore.open("out.h5")        # lazy["raw/data"] is a dask array
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
from .errors import Cancelled, InputFileError

KIND_ATTR = "daisy_kind"
#: target size of the blocks of lazily opened HDF5 datasets
AUTO_BLOCK_BYTES = "64MiB"


def _norm(key: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"data-store keys are strings like 'raw/data'; got {key!r}")
    parts = [p for p in key.strip().split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise KeyError(f"invalid data-store key {key!r}")
    return "/".join(parts)


def table(columns: Mapping[str, Any]) -> np.ndarray:
    """A table (numpy structured array) from ``{column: 1-D array}`` of equal lengths."""
    cols = {k: np.asarray(v) for k, v in columns.items()}
    lengths = {len(v) for v in cols.values()}
    if len(lengths) > 1:
        raise ValueError(f"table columns differ in length: { {k: len(v) for k, v in cols.items()} }")
    n = lengths.pop() if lengths else 0
    out = np.empty(n, dtype=[(k, v.dtype, v.shape[1:]) for k, v in cols.items()])
    for k, v in cols.items():
        out[k] = v
    return out


def is_table(obj: Any) -> bool:
    return isinstance(obj, np.ndarray) and obj.dtype.names is not None


def is_dask(obj: Any) -> bool:
    return type(obj).__module__.startswith("dask.array") and hasattr(obj, "dask")


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


# -- the store ---------------------------------------------------------------------
class Group:
    """A view of the objects under one path of a :class:`DataStore` (keys relative to it)."""

    def __init__(self, store: DataStore, path: str):
        self.store = store
        self.path = path

    def _k(self, key: str) -> str:
        return f"{self.path}/{_norm(key)}"

    def __getitem__(self, key: str) -> Any:
        return self.store[self._k(key)]

    def __setitem__(self, key: str, value: Any) -> None:
        self.store[self._k(key)] = value

    def __contains__(self, key: str) -> bool:
        return self._k(key) in self.store

    def keys(self) -> list[str]:
        n = len(self.path) + 1
        return [k[n:] for k in self.store.keys(self.path)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    @property
    def attrs(self) -> dict[str, Any]:
        return self.store.attrs(self.path)

    def __repr__(self) -> str:
        return f"<Group {self.path!r}: {len(self)} object(s)>"


class DataStore:
    """A tree of named data objects with attributes and persist flags.

    Parameters
    ----------
    data
        Initial ``{key: object}``.
    """

    def __init__(self, data: Mapping[str, Any] | None = None):
        self._objs: dict[str, Any] = {}
        self._attrs: dict[str, dict[str, Any]] = {}
        self._persist: set[str] = set()
        for k, v in (data or {}).items():
            self[k] = v

    # -- mapping -----------------------------------------------------------------
    def _is_group(self, key: str) -> bool:
        pre = key + "/"
        return any(k.startswith(pre) for k in self._objs)

    def __setitem__(self, key: str, value: Any) -> None:
        key = _norm(key)
        if isinstance(value, Group):
            value = {k: value[k] for k in value}
        if isinstance(value, Mapping):
            for k, v in value.items():
                self[f"{key}/{_norm(k)}"] = v
            return
        if self._is_group(key):
            raise KeyError(f"{key!r} is a group in the data store; delete it before storing an object there")
        parts = key.split("/")
        for i in range(1, len(parts)):
            pre = "/".join(parts[:i])
            if pre in self._objs:
                raise KeyError(f"cannot store {key!r}: {pre!r} is an object, not a group")
        self._objs[key] = value

    def __getitem__(self, key: str) -> Any:
        key = _norm(key)
        if key in self._objs:
            return self._objs[key]
        if self._is_group(key):
            return Group(self, key)
        raise KeyError(
            f"no object {key!r} in the data store; it holds: {', '.join(self.keys()) or 'nothing'}"
        )

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __delitem__(self, key: str) -> None:
        key = _norm(key)
        if key in self._objs:
            del self._objs[key]
        elif self._is_group(key):
            for k in self.keys(key):
                del self._objs[k]
        else:
            raise KeyError(f"no object {key!r} in the data store")
        for k in [k for k in self._attrs if k == key or k.startswith(key + "/")]:
            del self._attrs[k]
        self._persist = {k for k in self._persist if not (k == key or k.startswith(key + "/"))}

    def __contains__(self, key: object) -> bool:
        try:
            key = _norm(key)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return False
        return key in self._objs or self._is_group(key)

    def keys(self, prefix: str | None = None) -> list[str]:
        """Keys of all objects (not groups), optionally only those under ``prefix``."""
        if prefix is None:
            return list(self._objs)
        p = _norm(prefix)
        return [k for k in self._objs if k == p or k.startswith(p + "/")]

    def items(self) -> list[tuple[str, Any]]:
        return list(self._objs.items())

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._objs))

    def __len__(self) -> int:
        return len(self._objs)

    def group(self, path: str) -> Group:
        return Group(self, _norm(path))

    def attrs(self, key: str) -> dict[str, Any]:
        """The (mutable) attribute dictionary of an object or group."""
        return self._attrs.setdefault(_norm(key), {})

    def copy(self) -> DataStore:
        """A shallow copy (same objects, copied attributes and persist flags)."""
        new = DataStore()
        new._objs = dict(self._objs)
        new._attrs = {k: dict(v) for k, v in self._attrs.items()}
        new._persist = set(self._persist)
        return new

    # -- lifetime ------------------------------------------------------------------
    def persist(self, *keys: str, flag: bool = True) -> None:
        """Mark objects (or whole groups) to be kept after the workflow and saved."""
        for key in keys:
            key = _norm(key)
            if flag:
                self._persist.add(key)
            else:
                self._persist.discard(key)

    def is_persisted(self, key: str) -> bool:
        parts = _norm(key).split("/")
        return any("/".join(parts[:i]) in self._persist for i in range(1, len(parts) + 1))

    def persisted(self) -> list[str]:
        """Keys of the objects marked to persist (directly or through their group)."""
        return [k for k in self._objs if self.is_persisted(k)]

    def release(self, keys: list[str] | None = None) -> list[str]:
        """Drop the objects not marked to persist (only among ``keys`` if given); return what was dropped."""
        cand = (
            list(self._objs)
            if keys is None
            else list(dict.fromkeys(_norm(k) for k in keys if _norm(k) in self._objs))
        )
        gone = [k for k in cand if not self.is_persisted(k)]
        for k in gone:
            del self._objs[k]
            self._attrs.pop(k, None)
        return gone

    # -- inspection ------------------------------------------------------------------
    def describe(self, key: str) -> str:
        obj = self[key]
        if isinstance(obj, Group):
            return f"group ({len(obj)} objects)"
        if is_table(obj):
            return f"table {len(obj)} rows: {', '.join(obj.dtype.names)}"
        if hasattr(obj, "shape") and hasattr(obj, "dtype"):
            kind = "dask array" if is_dask(obj) else type(obj).__module__.split(".")[0] + " array"
            return f"{kind} {tuple(obj.shape)} {obj.dtype}"
        return f"{type(obj).__name__}"

    def tree(self) -> str:
        """A text listing of the store: one line per object, with shape/type and persist mark."""
        lines = []
        for k in sorted(self._objs):
            mark = " [persist]" if self.is_persisted(k) else ""
            lines.append(f"{k}: {self.describe(k)}{mark}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<DataStore: {len(self)} object(s)>" + ("\n" + self.tree() if self._objs else "")

    def compute(self, key: str) -> Any:
        """The value of ``key`` in memory (dask arrays and futures computed, CuPy copied to host)."""
        obj = self[key]
        return materialize(obj)

    # -- HDF5 --------------------------------------------------------------------------
    def save(
        self,
        path: str | os.PathLike,
        keys: list[str] | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
        cancel: Any = None,
        compression: str | None = None,
    ) -> Path:
        """Write objects to an HDF5 file atomically.

        Parameters
        ----------
        path
            Target file; replaced in one step only when the whole file is written.
        keys
            Objects (or groups) to write; default: the persisted ones, or all if none is marked.
        progress
            Called with ``(blocks written, blocks total)``.
        cancel
            A :class:`~daisy_widgets.core.progress.CancelToken`; on cancel the
            temporary file is removed, the target is untouched, and
            :class:`Cancelled` is raised.
        compression
            h5py compression filter for arrays (e.g. ``"gzip"``), default none.
        """
        import h5py

        if keys is None:
            keys = self.persisted() or list(self._objs)
        sel: list[str] = []
        for k in keys:
            sel.extend(x for x in self.keys(k) if x not in sel)
        if not sel and keys:
            raise KeyError(f"nothing to save: {keys} not in the data store")
        total = sum(_n_blocks(self._objs[k]) for k in sel)
        done = [0]

        def tick(n: int = 1) -> None:
            done[0] += n
            if progress is not None:
                progress(done[0], total)

        target = Path(path)
        with atomic_path(target) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["daisy_format"] = 1
            for k in sel:
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("cancelled by the user; nothing was written to " + str(target))
                _write_object(f, k, self._objs[k], tick, cancel, compression)
            for k, a in self._attrs.items():
                if not a or not any(x == k or x.startswith(k + "/") for x in sel):
                    continue
                node = f[k] if k in f else f.require_group(k)
                for name, val in a.items():
                    node.attrs[name] = _attr_value(val)
        return target

    @classmethod
    def open(
        cls, path: str | os.PathLike, *, lazy: bool = True, chunks: Any = "auto", prefix: str | None = None
    ) -> DataStore:
        """Read an HDF5 file into a store (arrays as lazy dask arrays unless ``lazy=False``).

        Parameters
        ----------
        path
            The HDF5 file.
        lazy
            Open N-d datasets as dask arrays over the file's chunks (default), or read them.
        chunks
            Dask chunks for the lazy arrays (default ``"auto"``, aligned on the HDF5 chunks).
        prefix
            Put every object under this group of the new store.
        """
        store = cls()
        store.add_file(path, lazy=lazy, chunks=chunks, prefix=prefix)
        return store

    @classmethod
    def load(cls, path: str | os.PathLike) -> DataStore:
        """Read an HDF5 file fully into memory."""
        return cls.open(path, lazy=False)

    def add_file(
        self, path: str | os.PathLike, *, lazy: bool = True, chunks: Any = "auto", prefix: str | None = None
    ) -> None:
        """Add every dataset of an HDF5 file (see :meth:`open`)."""
        import h5py

        path = os.path.abspath(os.fspath(path))
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            raise InputFileError(path, "", "a readable HDF5 file", str(exc)) from None
        pre = f"{_norm(prefix)}/" if prefix else ""
        with f:

            def visit(name: str, node: Any) -> None:
                key = pre + name
                if isinstance(node, h5py.Dataset):
                    self[key] = _read_dataset(path, name, node, lazy, chunks)
                attrs = {
                    a: _from_attr(v) for a, v in node.attrs.items() if a not in (KIND_ATTR, "daisy_format")
                }
                if attrs:
                    self.attrs(key).update(attrs)

            f.visititems(visit)

    def add_dataset(
        self, key: str, path: str | os.PathLike, dataset: str, *, lazy: bool = True, chunks: Any = "auto"
    ) -> None:
        """Put one HDF5 dataset under ``key`` (lazily by default), with its attributes.

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
            self[key] = _read_dataset(path, dataset, node, lazy, chunks)
            attrs = {a: _from_attr(v) for a, v in node.attrs.items() if a != KIND_ATTR}
            if attrs:
                self.attrs(key).update(attrs)


# -- helpers -------------------------------------------------------------------------
def materialize(obj: Any) -> Any:
    """Bring a value into this process's memory (dask -> numpy, Future -> result, CuPy -> numpy).

    A dask array computed on a ``distributed`` cluster has its blocks fetched straight
    from the workers that hold them (see :func:`gather_blocks`).
    """
    if is_dask(obj):
        whole = gather_blocks(obj)
        return whole if whole is not None else obj.compute()
    if type(obj).__name__ == "Future" and hasattr(obj, "result"):
        return obj.result()
    if type(obj).__module__.startswith("cupy"):
        return obj.get()
    return obj


def gather_blocks(arr: Any) -> np.ndarray | None:
    """A numpy dask array fetched block by block from its distributed cluster into one array here.

    ``arr.compute()`` on a cluster concatenates the blocks in one worker and then sends
    the whole array to the client: every block travels twice, and one worker must hold
    the whole result in its memory. Here each block travels once, straight from the
    worker that computed it, into an array allocated in this process.

    The cluster is the one whose futures the array holds (a :class:`DaskEngine` result),
    else the default client. Returns None (the caller then uses ``arr.compute()``) for
    an array of no futures that ``arr.compute()`` would not run on a ``distributed``
    client (no client, or another scheduler configured), or that is not a plain numpy
    one with known block sizes.
    """
    if (
        not is_dask(arr)
        or arr.ndim == 0
        or arr.size == 0
        or not isinstance(getattr(arr, "_meta", None), np.ndarray)
    ):
        return None
    if any(np.isnan(c) for cs in arr.chunks for c in cs):
        return None
    try:
        from dask.base import get_scheduler
        from distributed import default_client, futures_of

        held = futures_of(arr)
        # blocks held by futures live on their client's cluster (a Dask engine's results)
        client = held[0].client if held else default_client()
    except (ImportError, ValueError):
        return None
    if not held and getattr(get_scheduler(collections=[arr]), "__self__", None) is not client:
        return None
    # the futures are released when they go out of scope (never cancelled: a block may
    # alias a future that a DataStore still holds)
    parts = client.gather(client.compute(list(arr.to_delayed().ravel())))
    out = np.empty(arr.shape, arr.dtype)
    edges = [np.cumsum((0, *sizes)) for sizes in arr.chunks]
    for index, part in zip(np.ndindex(*arr.numblocks), parts, strict=False):
        out[tuple(slice(edges[d][i], edges[d][i + 1]) for d, i in enumerate(index))] = part
    return out


def _n_blocks(obj: Any) -> int:
    if is_dask(obj):
        return int(np.prod(obj.numblocks))
    return 1


def _read_dataset(path: str, name: str, node: Any, lazy: bool, chunks: Any) -> Any:
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


def _write_object(
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


def _attr_value(v: Any) -> Any:
    if isinstance(v, (dict, list, tuple)) and not (
        isinstance(v, (list, tuple)) and v and all(isinstance(x, (int, float)) for x in v)
    ):
        return json.dumps(v)
    if v is None:
        return "null"
    return v


def _from_attr(v: Any) -> Any:
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def iter_blocks(
    arr: Any, *, cancel: Any = None, window: int | None = None
) -> Iterator[tuple[tuple[slice, ...], np.ndarray]]:
    """Compute a dask array block by block: yield ``(slices, numpy block)``.

    On a distributed client (the current default one), at most ``window`` blocks
    are in flight; otherwise blocks are computed in batches on the local
    scheduler. Memory stays bounded by a few blocks. Cancellation is checked
    between blocks.
    """
    import dask
    from dask.array.core import slices_from_chunks

    slices = slices_from_chunks(arr.chunks)
    blocks = arr.to_delayed().ravel().tolist()
    client = _default_client()
    if client is not None:
        from distributed import as_completed

        n = window or max(2, 2 * len(client.scheduler_info().get("workers", {})) or 4)
        it = iter(range(len(blocks)))
        pending = {}
        for i in it:
            fut = client.compute(blocks[i])
            pending[fut] = i
            if len(pending) >= n:
                break
        ac = as_completed(list(pending))
        try:
            for fut in ac:
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("cancelled by the user")
                i = pending.pop(fut)
                block = fut.result()
                fut.release()
                nxt = next(it, None)
                if nxt is not None:
                    nf = client.compute(blocks[nxt])
                    pending[nf] = nxt
                    ac.add(nf)
                yield slices[i], _to_host(block)
        finally:
            if pending:
                client.cancel(list(pending))
        return
    n = window or (os.cpu_count() or 2)
    for start in range(0, len(blocks), n):
        if cancel is not None and cancel.cancelled:
            raise Cancelled("cancelled by the user")
        out = dask.compute(*blocks[start : start + n])
        for j, block in enumerate(out):
            yield slices[start + j], _to_host(block)


def _default_client() -> Any:
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def _to_host(block: Any) -> np.ndarray:
    """A computed block as a numpy array (CuPy blocks are copied to the host explicitly)."""
    if type(block).__module__.startswith("cupy"):
        return block.get()
    return np.asarray(block)
