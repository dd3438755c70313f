"""The service's HDF5 files kept open between requests: Tiled's HDF5 adapters over a cache of open files.

Tiled's own ``HDF5Adapter`` opens the file on every request several times over (to list
the tree, to read the attributes, to learn the dataset's shape and chunks) and once more
for every HDF5 chunk a read touches. The adapters here are Tiled's, with the file access
replaced by :data:`OPEN_FILES`: a bounded, thread-safe cache of read-only ``h5py.File``
handles (least recently used closed first), each checked against the file on disk on
every access (modification time, size, inode) and re-opened when the file changed. The
tree and the attributes are kept with the handle, and an array read is one ``h5py``
selection on the open dataset (no dask graph per request).

What each request may see is unchanged: the catalog lookup, the readable-storage check,
the API key and the per-user rules all happen before an adapter is made. Datasets Tiled
treats specially (object dtype such as variable-length strings, scalars, empty arrays)
and files spread over several assets go through Tiled's own adapters.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from tiled.adapters.hdf5 import (
    HDF5_BROKEN_LINK,
    HDF5_DATASET,
    MIN_CHUNK_SIZE,
    HDF5Adapter,
    HDF5ArrayAdapter,
    parse_hdf5_tree,
)
from tiled.adapters.utils import split_chunks
from tiled.ndslice import NDBlock, NDSlice
from tiled.structures.array import ArrayStructure, BuiltinDtype
from tiled.utils import BrokenLink, path_from_uri

#: array adapters made while the current request is answered (set by :mod:`.fast_reads`, which
#: learns from them which file and dataset an entry is)
SERVED: contextvars.ContextVar[list | None] = contextvars.ContextVar("daisy_served_arrays", default=None)

#: files kept open at most (each costs one file descriptor and HDF5's metadata cache)
MAX_OPEN_FILES = 32


def _signature(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size, st.st_ino


def _decoded(attrs: Any) -> dict:
    d = dict(attrs)
    for k, v in d.items():
        if isinstance(v, bytes):
            d[k] = v.decode()
    return d


class _Handle:
    """One open file with what was learnt from it (tree, attributes, array layouts)."""

    def __init__(self, path: str, signature: tuple[int, int, int]):
        import h5py

        # locking=False: a handle kept open must never stop a writer from opening the file;
        # a change on disk is seen by the signature check and the file re-opened
        self.file = h5py.File(path, "r", libver="latest", locking=False)
        self.signature = signature
        self.trees: dict[str, Any] = {}
        self.attrs: dict[str, dict] = {}
        self.layouts: dict[str, tuple] = {}
        self.datasets: dict[str, Any] = {}  # h5py Dataset objects by path (a lookup costs ~0.1 ms)

    def dataset(self, path: str) -> Any:
        ds = self.datasets.get(path)
        if ds is None:
            ds = self.datasets[path] = self.file[path]
        return ds


class OpenFiles:
    """Bounded cache of read-only HDF5 files, thread-safe, re-opened when the file changes on disk.

    Every use goes through :meth:`use` under one lock (``h5py`` serialises its calls on a
    global lock anyway), so a handle is never closed while another thread reads from it.

    Parameters
    ----------
    max_open
        Files kept open at most; the least recently used is closed first.
    """

    def __init__(self, max_open: int = MAX_OPEN_FILES):
        self.max_open = max_open
        self._handles: OrderedDict[str, _Handle] = OrderedDict()
        self._lock = threading.RLock()
        self.opened = 0  # files opened so far (re-opens included), for tests and profiles

    def _handle(self, path: str) -> _Handle:
        sig = _signature(path)
        h = self._handles.get(path)
        if h is not None and h.signature == sig:
            self._handles.move_to_end(path)
            return h
        if h is not None:
            self._close(path)
        h = _Handle(path, sig)
        self.opened += 1
        self._handles[path] = h
        while len(self._handles) > self.max_open:
            self._close(next(iter(self._handles)))
        return h

    def _close(self, path: str) -> None:
        h = self._handles.pop(path, None)
        if h is not None:
            try:
                h.file.close()
            except Exception:  # a file gone or broken on disk: nothing left to release
                pass

    def use(self, path: str | os.PathLike, fn: Any) -> Any:
        """``fn(handle)`` on the open (or re-opened) file at ``path``, under the cache's lock."""
        with self._lock:
            return fn(self._handle(os.fspath(path)))

    def tree(self, path: str, dataset: str | None) -> Any:
        """Tiled's parsed tree (groups as dicts) under ``dataset`` ("/" or None: the whole file)."""

        def get(h: _Handle) -> Any:
            key = dataset or "/"
            if key not in h.trees:
                h.trees[key] = parse_hdf5_tree(h.file[key])
            return h.trees[key]

        return self.use(path, get)

    def attrs(self, path: str, dataset: str | None) -> dict:
        """The HDF5 attributes of ``dataset`` (bytes decoded to str), as Tiled's ``get_hdf5_attrs``."""

        def get(h: _Handle) -> dict:
            key = dataset or "/"
            if key not in h.attrs:
                h.attrs[key] = _decoded(getattr(h.file[key], "attrs", {}))
            return dict(h.attrs[key])

        return self.use(path, get)

    def layout(self, path: str, dataset: str) -> tuple[tuple[int, ...], tuple[int, ...] | None, np.dtype]:
        """``(shape, chunks or None, dtype)`` of a dataset."""

        def get(h: _Handle) -> tuple:
            if dataset not in h.layouts:
                ds = h.file[dataset]
                h.layouts[dataset] = (tuple(ds.shape), ds.chunks, ds.dtype)
            return h.layouts[dataset]

        return self.use(path, get)

    def read(
        self, path: str, dataset: str, selection: tuple, layout: tuple | None = None
    ) -> np.ndarray | None:
        """``dataset[selection]`` read straight from the open file.

        ``layout``: the ``(shape, chunks, dtype)`` the caller knows; when the file on disk now
        holds another (a file replaced by a different one), None is returned and nothing read.
        """

        def get(h: _Handle) -> np.ndarray | None:
            ds = h.dataset(dataset)
            if layout is not None:
                # the layout is learnt once per opened file (a file changed on disk is opened anew)
                now = h.layouts.get(dataset)
                if now is None:
                    now = h.layouts[dataset] = (tuple(ds.shape), ds.chunks, ds.dtype)
                if now != layout:
                    return None
            return ds[selection]

        return self.use(path, get)

    def close_all(self) -> None:
        """Close every open file (the service's shutdown)."""
        with self._lock:
            for path in list(self._handles):
                self._close(path)

    def __len__(self) -> int:
        return len(self._handles)


#: the service process's open files
OPEN_FILES = OpenFiles()


def _plain(layout: tuple) -> bool:
    """A dataset served from the open file (Tiled's adapter handles the special kinds)."""
    shape, _, dtype = layout
    return dtype != np.dtype("O") and bool(shape) and 0 not in shape and dtype.fields is None


def _structure(shape: tuple[int, ...], chunks: tuple[int, ...] | None, dtype: np.dtype) -> ArrayStructure:
    """The structure Tiled's ``HDF5ArrayAdapter`` gives (chunks follow the file's)."""
    chunks = chunks or shape
    blocks = [split_chunks(shape[0], max(chunks[0], MIN_CHUNK_SIZE))]
    blocks += [split_chunks(s, c) for s, c in zip(shape[1:], chunks[1:], strict=True)]
    return ArrayStructure(
        data_type=BuiltinDtype.from_numpy_dtype(dtype), chunks=tuple(blocks), shape=tuple(shape)
    )


class CachedHDF5ArrayAdapter(HDF5ArrayAdapter):
    """An HDF5 dataset read from :data:`OPEN_FILES` (one ``h5py`` selection per request)."""

    def __init__(self, path: str, dataset: str, structure: ArrayStructure, metadata: dict, specs: Any = None):
        self._path, self._dataset = path, dataset
        self._layout: tuple | None = None  # (shape, chunks, dtype) the structure was made from
        self._files = OPEN_FILES
        super().__init__(None, structure, metadata=metadata, specs=specs or [])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._path!r}, {self._dataset!r})"

    @property
    def dataset_path(self) -> str:
        """The dataset's path in the file, without the leading slashes (``exchange/data``)."""
        return self._dataset.lstrip("/")

    def read(self, slice: NDSlice | None = None) -> np.ndarray:
        sel = tuple(slice) if slice else ()
        return self._files.read(self._path, self._dataset, sel)

    def read_if_unchanged(self, slice: NDSlice | None = None) -> np.ndarray | None:
        """As :meth:`read`, or None when the dataset on disk no longer has this adapter's layout."""
        sel = tuple(slice) if slice else ()
        return self._files.read(self._path, self._dataset, sel, layout=self._layout)

    def read_block(self, block: NDBlock, slice: NDSlice | None = None) -> np.ndarray:
        region = tuple(block.slice_from_chunks(self._structure.chunks))
        out = self._files.read(self._path, self._dataset, region)
        return out[tuple(slice)] if slice else out


class CachedHDF5Adapter(HDF5Adapter):
    """Tiled's ``HDF5Adapter`` (an HDF5 file or group as a container) over :data:`OPEN_FILES`."""

    @classmethod
    def from_catalog(cls, data_source: Any, node: Any, /, dataset: Any = "/", **kwargs: Any) -> Any:
        from tiled.structures.core import StructureFamily

        uris = [a.data_uri for a in data_source.assets if a.parameter == "data_uris"] or [
            data_source.assets[0].data_uri
        ]
        if data_source.structure_family == StructureFamily.array or len(uris) != 1 or kwargs:
            return HDF5Adapter.from_catalog(data_source, node, dataset=dataset, **kwargs)
        if not isinstance(dataset, str):
            dataset = "/".join(dataset)
        path = str(path_from_uri(uris[0]))
        try:
            tree = OPEN_FILES.tree(path, dataset)
        except KeyError as exc:
            raise BrokenLink(f"Unable to open object at {uris[0]}/{dataset}: {exc}") from exc
        if tree == HDF5_DATASET:
            raise ValueError(
                "Erroneous structure (container) of a DataSource pointing to an HDF5 Dataset (array)."
            )
        return cls(
            tree,
            *uris,
            dataset=dataset,
            structure=data_source.structure,
            metadata=node.metadata_,
            specs=node.specs,
        )

    def metadata(self) -> dict:
        d = OPEN_FILES.attrs(str(path_from_uri(self.uris[0])), self.dataset)
        return {**d, **(self._metadata or {})}

    def __getitem__(self, key: str) -> Any:
        from tiled.server.core import NoEntry

        dataset = f"{self.dataset or ''}/{key.strip('/')}"
        node = self._tree
        for segment in key.strip("/").split("/"):
            if not isinstance(node, dict) or segment not in node:
                raise NoEntry(f"Can not access dataset {dataset} in {self.uris[0]}: {key} not found")
            node = node[segment]
            if node == HDF5_BROKEN_LINK:
                raise BrokenLink(f"Unable to open object at {self.uris[0]}/{dataset}")
        if isinstance(node, dict):
            return CachedHDF5Adapter(
                node, *self.uris, dataset=dataset, metadata=self._metadata, specs=self.specs, **self._kwargs
            )
        path = str(path_from_uri(self.uris[0]))
        layout = OPEN_FILES.layout(path, dataset)
        if not _plain(layout):
            # Tiled's own adapter, opening the file with the same (no-)locking flag as the open handle
            return HDF5ArrayAdapter.from_uris(
                *self.uris, dataset=dataset, **{**self._kwargs, "locking": False}
            )
        adapter = CachedHDF5ArrayAdapter(path, dataset, _structure(*layout), OPEN_FILES.attrs(path, dataset))
        adapter._layout = layout
        seen = SERVED.get()
        if seen is not None:
            seen.append(adapter)
        return adapter


def served_path(adapter: Any) -> Path | None:
    """The file behind a cached array adapter (None for any other adapter); for tests."""
    return Path(adapter._path) if isinstance(adapter, CachedHDF5ArrayAdapter) else None
