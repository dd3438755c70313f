"""HDF5 helpers of the readers: open a file, follow links, read datasets lazily, suggest names.

Every dataset is reached through :func:`resolve_dataset`, which follows soft
and external links itself (relative external links resolve against the folder
of the file holding the link, wherever the command runs), so that a dask array
reads the detector file directly and a broken link names the missing file.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import InputFileError

#: a dask array with more blocks than this is re-chunked along the frames ("auto")
MAX_BLOCKS = 20000


def open_h5(path: str | os.PathLike):
    """Open an HDF5 file read-only, or raise :class:`InputFileError` saying why not."""
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


def is_hdf5(path: str | os.PathLike) -> bool:
    """True when ``path`` is a file starting with the HDF5 signature."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return head == b"\x89HDF\r\n\x1a\n"


def walk(f, group: str = "/", _depth: int = 0) -> Iterator[tuple[str, Any, Any]]:
    """Yield ``(name, link, obj)`` for every link below ``group``, without following broken links.

    ``obj`` is the h5py object, or None when the link cannot be followed
    (broken soft or external link). External links into other files are
    followed one level (their groups are walked too).
    """
    import h5py

    if _depth > 12:
        return
    g = f[group]
    for key in g:
        name = f"{group.rstrip('/')}/{key}"
        link = g.get(key, getlink=True)
        try:
            obj = g[key]
        except (KeyError, OSError, ValueError):
            obj = None
        yield name, link, obj
        if isinstance(obj, h5py.Group) and not isinstance(link, h5py.SoftLink):
            yield from walk(f, name, _depth + 1)


def dataset_names(f) -> list[str]:
    """Every dataset path of an open file (links included)."""
    import h5py

    return [n for n, _, obj in walk(f) if isinstance(obj, h5py.Dataset)]


def nearest_names(f, name: str, n: int = 5) -> list[str]:
    """Dataset paths of ``f`` closest to ``name`` (same last part first, then by similarity)."""
    names = dataset_names(f)
    last = name.rstrip("/").rsplit("/", 1)[-1].lower()
    same = [x for x in names if x.rsplit("/", 1)[-1].lower() == last]
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.3)
    out = list(dict.fromkeys(same + close))[:n]
    return out or names[:n]


def _missing(path: str, f, name: str, expected: str) -> InputFileError:
    near = nearest_names(f, name)
    return InputFileError(
        path,
        name,
        expected,
        "nothing at that path"
        + (f"; nearest names: {', '.join(near)}" if near else "; the file has no datasets"),
    )


def resolve_dataset(
    path: str | os.PathLike, name: str, expected: str = "a dataset", _depth: int = 0
) -> tuple[str, str]:
    """Follow ``name`` in ``path`` through soft and external links to the dataset it means.

    Returns
    -------
    (file, name)
        The file that holds the data and the dataset's path there.

    Raises
    ------
    InputFileError
        Nothing at ``name`` (nearest names listed), a broken external link
        (the missing file named), or a group instead of a dataset.
    """
    import h5py

    path = os.path.abspath(os.fspath(path))
    if _depth > 8:
        raise InputFileError(path, name, expected, "a cycle of links")
    if not name.startswith("/"):
        name = "/" + name
    parts = [p for p in name.split("/") if p]
    with open_h5(path) as f:
        here = "/"
        for i, part in enumerate(parts):
            g = f[here]
            if not isinstance(g, h5py.Group):
                raise _missing(path, f, name, expected)
            link = g.get(part, getlink=True)
            rest = "/".join(parts[i + 1 :])
            if link is None:
                raise _missing(path, f, name, expected)
            if isinstance(link, h5py.SoftLink):
                target = link.path if link.path.startswith("/") else f"{here.rstrip('/')}/{link.path}"
                return resolve_dataset(path, f"{target.rstrip('/')}/{rest}".rstrip("/"), expected, _depth + 1)
            if isinstance(link, h5py.ExternalLink):
                target = link.filename
                full = target if os.path.isabs(target) else os.path.join(os.path.dirname(path), target)
                if not os.path.exists(full):
                    raise InputFileError(
                        path,
                        name,
                        expected,
                        f"an external link to {target}:{link.path}, but the file {full} does not exist",
                    )
                return resolve_dataset(
                    full, f"{link.path.rstrip('/')}/{rest}".rstrip("/"), expected, _depth + 1
                )
            here = f"{here.rstrip('/')}/{part}"
        obj = f[here] if here != "/" else f["/"]
        if not isinstance(obj, h5py.Dataset):
            raise InputFileError(path, name, expected, "a group, not a dataset")
    return path, name


def lazy_dataset(path: str, name: str, expected: str = "a dataset") -> Any:
    """A dask array over dataset ``name`` of ``path`` (links followed), blocks on the file's chunks."""
    from ...core.datastore import open_h5_array

    real_path, real_name = resolve_dataset(path, name, expected)
    try:
        with open_h5(real_path) as f:
            d = f[real_name]
            chunks = d.chunks
            shape = d.shape
        if (
            chunks is None
            or np.prod([-(-s // max(c, 1)) for s, c in zip(shape, chunks, strict=True)]) > MAX_BLOCKS
        ):
            chunks = "auto"
        return open_h5_array(real_path, real_name, chunks=chunks)
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(path, name, "a readable dataset", str(exc)) from None


def read_array(path: str, name: str, expected: str = "a dataset") -> tuple[np.ndarray, dict]:
    """Read a (small) dataset whole, links followed: (values, attributes)."""
    real_path, real_name = resolve_dataset(path, name, expected)
    try:
        with open_h5(real_path) as f:
            d = f[real_name]
            return np.asarray(d[()]), dict(d.attrs)
    except OSError as exc:
        raise InputFileError(path, name, "a readable dataset (file truncated?)", str(exc)) from None


def scalar(f, names: Sequence[str]) -> Any:
    """The first of ``names`` present in the open file ``f`` as a Python scalar/str, else None."""
    for n in names:
        try:
            if n not in f:
                continue
            v = f[n][()]
        except (KeyError, OSError):
            continue
        if isinstance(v, bytes):
            v = v.decode(errors="replace")
        elif isinstance(v, np.ndarray):
            v = v.ravel()[0] if v.size else None
            if isinstance(v, bytes):
                v = v.decode(errors="replace")
        return v.item() if isinstance(v, np.generic) else v
    return None


def attr_text(attrs: Any, key: str, default: str = "") -> str:
    """An HDF5 attribute as ``str`` (bytes decoded), or ``default``."""
    v = attrs.get(key, None)
    if v is None:
        return default
    if isinstance(v, np.ndarray):
        v = v.ravel()[0] if v.size else default
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)
