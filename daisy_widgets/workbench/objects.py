"""The data objects of a workbench session: one :class:`DataStore` shared by the console and the toolboxes.

:class:`SessionObjects` keeps the session's store and the kernel's user namespace
in step (no widgets here, so it is tested without a browser):

* an array or table assigned in the console or the editor (a top-level name not
  starting with ``_``) is put into the store under that name after each cell
  (:meth:`SessionObjects.sync_from_namespace`, hooked on IPython's ``post_run_cell``);
  deleting the name removes it again;
* an object picked in the data toolbox, or written by a run, is made available in
  the console under a Python name (:meth:`SessionObjects.publish`,
  :func:`console_name`: ``"work/x"`` -> ``work_x``).

Every change bumps :attr:`SessionObjects.version` and calls the listeners (the
data toolbox redraws its tree). :func:`describe_object` and :func:`object_kind`
say what an object is (shape, dtype, size; image, profile, spectrum, light
curve, table) for the tree, the preview and the plot window.
"""

from __future__ import annotations

import keyword
import re
import threading
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.datastore import DataStore
from ..core.datastore_objects import is_table

#: what the tree shows per object kind
KINDS = ("image", "profile", "spectrum", "lightcurve", "table", "scalar", "object")


def is_data_object(value: Any) -> bool:
    """True for what the data toolbox holds: numpy/cupy/dask arrays and tables (not modules, functions, ...)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return True
    mod = type(value).__module__ or ""
    return (mod.startswith(("cupy", "dask.array")) and hasattr(value, "shape")) or is_table(value)


def console_name(key: str) -> str:
    """The Python name under which the store object ``key`` is available in the console.

    ``"x"`` -> ``x``; ``"work/smooth"`` -> ``work_smooth``; ``"2d map"`` -> ``_2d_map``."""
    name = re.sub(r"\W", "_", key.strip("/").replace("/", "_")) or "obj"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "_" + name
    return name


def _size_text(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"


def object_kind(value: Any, attrs: dict | None = None) -> str:
    """What kind of data ``value`` is, for its preview and plot window.

    The attribute ``kind`` wins when given (``"spectrum"``, ``"lightcurve"``, ...). Otherwise:
    a table with a ``time`` column is a light curve, one with a ``channel`` or ``energy`` column a
    spectrum, other tables ``table``; arrays of 2 or more dimensions ``image``, 1-D arrays
    ``profile``, 0-D ``scalar``."""
    kind = (attrs or {}).get("kind")
    if isinstance(kind, str) and kind in KINDS:
        return kind
    if is_table(value):
        names = {n.lower() for n in (value.dtype.names or ())}
        if "time" in names:
            return "lightcurve"
        if names & {"channel", "energy", "pi"}:
            return "spectrum"
        return "table"
    shape = getattr(value, "shape", None)
    if shape is None:
        return "object"
    return "scalar" if len(shape) == 0 else ("profile" if len(shape) == 1 else "image")


@dataclass(frozen=True)
class ObjectInfo:
    """One row of the data toolbox's tree: ``key`` (store path), ``depth``, ``is_group``,
    ``kind``, ``shape``, ``dtype``, ``size`` (text), ``attrs`` and the console ``name``."""

    key: str
    depth: int
    is_group: bool
    kind: str = ""
    shape: tuple[int, ...] = ()
    dtype: str = ""
    size: str = ""
    attrs: tuple[tuple[str, str], ...] = ()
    name: str = ""

    @property
    def label(self) -> str:
        """The tree line: ``x  (64, 64) float64  32.0 KiB  image``; groups end with ``/``."""
        leaf = self.key.rsplit("/", 1)[-1]
        if self.is_group:
            return f"{leaf}/"
        if self.kind in ("table", "lightcurve", "spectrum"):
            return f"{leaf}  table {self.shape[0] if self.shape else 0} rows  {self.size}  {self.kind}"
        return f"{leaf}  {self.shape} {self.dtype}  {self.size}  {self.kind}"


def describe_object(key: str, value: Any, attrs: dict | None = None) -> ObjectInfo:
    """The :class:`ObjectInfo` of one stored object."""
    shape = tuple(int(n) for n in getattr(value, "shape", ()) or ())
    dtype = getattr(value, "dtype", None)
    nbytes = getattr(value, "nbytes", None)
    if nbytes is None and dtype is not None:
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    dtype_text = (
        "table" if is_table(value) else (str(np.dtype(dtype)) if dtype is not None else type(value).__name__)
    )
    return ObjectInfo(
        key=key,
        depth=key.count("/"),
        is_group=False,
        kind=object_kind(value, attrs),
        shape=shape,
        dtype=dtype_text,
        size=_size_text(float(nbytes)) if nbytes is not None else "",
        attrs=tuple((str(k), str(v)[:80]) for k, v in (attrs or {}).items()),
        name=console_name(key),
    )


class SessionObjects:
    """The session's data store, kept in step with the console's namespace.

    Parameters
    ----------
    store
        The session's store (a new one if None).
    namespace
        The kernel's user namespace (``get_ipython().user_ns``); None outside a kernel.
    """

    def __init__(self, store: DataStore | None = None, namespace: MutableMapping[str, Any] | None = None):
        self.store = store if store is not None else DataStore()
        self.namespace = namespace
        self.version = 0
        #: the key last picked in the data toolbox (the algorithm toolbox offers it as first input)
        self.selected_hint: str | None = None
        #: store keys that came from console names (removed from the store when the name is deleted)
        self.from_console: set[str] = set()
        #: console name -> store key of the objects published to the console
        self._published: dict[str, str] = {}
        self._listeners: list[Callable[[SessionObjects], None]] = []
        self._lock = threading.RLock()

    # -- listeners -----------------------------------------------------------------------
    def on_change(self, callback: Callable[[SessionObjects], None]) -> None:
        """Call ``callback(objects)`` after every change of the store."""
        self._listeners.append(callback)

    def changed(self) -> None:
        """Bump the version and tell the listeners (call after writing to :attr:`store` directly)."""
        self.version += 1
        for cb in list(self._listeners):
            cb(self)

    # -- console -> store ----------------------------------------------------------------
    def sync_from_namespace(self, *_: Any) -> list[str]:
        """Take new or re-assigned arrays and tables of the console into the store; returns the keys changed."""
        if self.namespace is None:
            return []
        changed: list[str] = []
        with self._lock:
            seen = set()
            for name, value in list(self.namespace.items()):
                if name.startswith("_") or not is_data_object(value):
                    continue
                seen.add(name)
                if name in self.store and self.store[name] is value:
                    continue
                key = self._published.get(name)
                if key is not None and key in self.store and self.store[key] is value:
                    continue  # a store object published under its console name: already there
                if _is_group_key(self.store, name):
                    continue  # never replace a whole group by a console value
                self.store[name] = value
                self.from_console.add(name)
                changed.append(name)
            for name in sorted(self.from_console - seen):
                if name in self.store:
                    del self.store[name]
                    changed.append(name)
                self.from_console.discard(name)
        if changed:
            self.changed()
        return changed

    # -- store -> console ----------------------------------------------------------------
    def publish(self, key: str) -> str:
        """Make the store object ``key`` available in the console; returns its Python name."""
        name = console_name(key)
        self._published[name] = key
        if self.namespace is not None:
            value = self.store[key]
            self.namespace[name] = value
            if name == key:
                self.from_console.add(key)
        return name

    def put(self, key: str, value: Any, attrs: dict | None = None, publish: bool = True) -> str:
        """Write ``value`` under ``key`` (a run's output), publish it to the console; returns its name."""
        with self._lock:
            self.store[key] = value
            if attrs:
                self.store.attrs(key).update(attrs)
            name = self.publish(key) if publish else console_name(key)
        self.changed()
        return name

    def merge(self, other: DataStore, keys: list[str] | None = None) -> list[str]:
        """Copy objects of ``other`` (a workflow's result store) into the session store and publish them."""
        keys = [k for k in (other.keys() if keys is None else keys) if k in other]
        with self._lock:
            for k in keys:
                self.store[k] = other[k]
                attrs = other.attrs(k)
                if attrs:
                    self.store.attrs(k).update(attrs)
                self.publish(k)
        if keys:
            self.changed()
        return keys

    # -- the tree ------------------------------------------------------------------------
    def rows(self) -> list[ObjectInfo]:
        """The tree, depth first: a row per group and per object (keys sorted)."""
        out: list[ObjectInfo] = []
        groups_done: set[str] = set()
        for key in sorted(self.store.keys()):
            parts = key.split("/")
            for i in range(1, len(parts)):
                g = "/".join(parts[:i])
                if g not in groups_done:
                    groups_done.add(g)
                    out.append(ObjectInfo(key=g, depth=i - 1, is_group=True, name=console_name(g)))
            try:
                attrs = dict(self.store.attrs(key))
            except KeyError:
                attrs = {}
            out.append(describe_object(key, self.store[key], attrs))
        return out

    def info(self, key: str) -> ObjectInfo:
        """The :class:`ObjectInfo` of one object (``KeyError`` naming the key when it is not stored)."""
        if key not in self.store:
            raise KeyError(f"no object {key!r} in the session's data store")
        return describe_object(key, self.store[key], dict(self.store.attrs(key)))


def _is_group_key(store: DataStore, key: str) -> bool:
    return any(k.startswith(key + "/") for k in store)
