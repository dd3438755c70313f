"""The data store: a tree of named data objects that workflow steps read and write.

Keys are paths, ``"raw/data"``, ``"work/recon"``; groups exist implicitly (every
prefix of a key) and, like objects, carry attributes. Objects are numpy, CuPy or
dask arrays, tables (numpy structured arrays, or a dict of equal-length
columns given to :func:`table`), scalars, strings, or small JSON-able values
(:mod:`.datastore_objects`).

Objects live for the workflow that produced them; those marked with
:meth:`DataStore.persist` are kept when it ends and are what
:meth:`DataStore.save` writes by default. Saving goes through
:func:`~daisy_widgets.core.atomic.atomic_path` (temporary file, fsync, rename),
so a kill mid-write never leaves a half-written file where the old one was.
Dask arrays are written block by block (never whole in memory).

:meth:`DataStore.open` reads an HDF5 file lazily: every dataset becomes a dask
array over the file's own chunks, so a dataset larger than memory is processed
block by block; the dask arrays pickle to Dask workers (path + dataset name).
The HDF5 persistence is :mod:`.datastore_hdf5`; bringing Dask-held objects into
memory, :mod:`.datastore_dask`. Every name stays importable from here.

Example::

    store = DataStore()
    store["raw/data"] = np.ones((180, 64, 64), np.float32)
    store.attrs("raw/data")["units"] = "counts"
    store.persist("raw/data")
    store.save("out.h5")
    lazy = DataStore.open("out.h5")        # lazy["raw/data"] is a dask array
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .datastore_dask import gather_blocks, iter_blocks, materialize
from .datastore_hdf5 import (
    AUTO_BLOCK_BYTES,
    KIND_ATTR,
    H5ArraySource,
    close_cached_files,
    open_h5_array,
    read_h5_dataset,
    read_h5_file,
    write_h5,
)
from .datastore_objects import is_dask, is_table, norm_key, table

__all__ = [
    "AUTO_BLOCK_BYTES",
    "KIND_ATTR",
    "DataStore",
    "Group",
    "H5ArraySource",
    "close_cached_files",
    "gather_blocks",
    "is_dask",
    "is_table",
    "iter_blocks",
    "materialize",
    "open_h5_array",
    "table",
]


# -- the store ---------------------------------------------------------------------
class Group:
    """A view of the objects under one path of a :class:`DataStore` (keys relative to it)."""

    def __init__(self, store: DataStore, path: str):
        self.store = store
        self.path = path

    def _k(self, key: str) -> str:
        return f"{self.path}/{norm_key(key)}"

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
        key = norm_key(key)
        if isinstance(value, Group):
            value = {k: value[k] for k in value}
        if isinstance(value, Mapping):
            for k, v in value.items():
                self[f"{key}/{norm_key(k)}"] = v
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
        key = norm_key(key)
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
        key = norm_key(key)
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
            key = norm_key(key)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return False
        return key in self._objs or self._is_group(key)

    def keys(self, prefix: str | None = None) -> list[str]:
        """Keys of all objects (not groups), optionally only those under ``prefix``."""
        if prefix is None:
            return list(self._objs)
        p = norm_key(prefix)
        return [k for k in self._objs if k == p or k.startswith(p + "/")]

    def items(self) -> list[tuple[str, Any]]:
        return list(self._objs.items())

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._objs))

    def __len__(self) -> int:
        return len(self._objs)

    def group(self, path: str) -> Group:
        return Group(self, norm_key(path))

    def attrs(self, key: str) -> dict[str, Any]:
        """The (mutable) attribute dictionary of an object or group."""
        return self._attrs.setdefault(norm_key(key), {})

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
            key = norm_key(key)
            if flag:
                self._persist.add(key)
            else:
                self._persist.discard(key)

    def is_persisted(self, key: str) -> bool:
        parts = norm_key(key).split("/")
        return any("/".join(parts[:i]) in self._persist for i in range(1, len(parts) + 1))

    def persisted(self) -> list[str]:
        """Keys of the objects marked to persist (directly or through their group)."""
        return [k for k in self._objs if self.is_persisted(k)]

    def release(self, keys: list[str] | None = None) -> list[str]:
        """Drop the objects not marked to persist (only among ``keys`` if given); return what was dropped."""
        cand = (
            list(self._objs)
            if keys is None
            else list(dict.fromkeys(norm_key(k) for k in keys if norm_key(k) in self._objs))
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
        if keys is None:
            keys = self.persisted() or list(self._objs)
        sel: list[str] = []
        for k in keys:
            sel.extend(x for x in self.keys(k) if x not in sel)
        if not sel and keys:
            raise KeyError(f"nothing to save: {keys} not in the data store")
        attrs = {
            k: a for k, a in self._attrs.items() if a and any(x == k or x.startswith(k + "/") for x in sel)
        }
        return write_h5(
            path,
            {k: self._objs[k] for k in sel},
            attrs,
            progress=progress,
            cancel=cancel,
            compression=compression,
        )

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
        for key, is_dataset, value, attrs in read_h5_file(path, lazy=lazy, chunks=chunks, prefix=prefix):
            if is_dataset:
                self[key] = value
            if attrs:
                self.attrs(key).update(attrs)

    def add_dataset(
        self, key: str, path: str | os.PathLike, dataset: str, *, lazy: bool = True, chunks: Any = "auto"
    ) -> None:
        """Put one HDF5 dataset under ``key`` (lazily by default), with its attributes.

        Raises
        ------
        InputFileError
            If the file cannot be read or has no such dataset.
        """
        value, attrs = read_h5_dataset(path, dataset, lazy=lazy, chunks=chunks)
        self[key] = value
        if attrs:
            self.attrs(key).update(attrs)
