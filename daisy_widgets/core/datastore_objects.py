"""The kinds of object a data store holds, and its keys.

Keys are paths, ``"raw/data"``, normalised by :func:`norm_key`. Objects are numpy, CuPy
or dask arrays, tables (numpy structured arrays, or a dict of equal-length columns given
to :func:`table`), scalars, strings, or small JSON-able values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def norm_key(key: str) -> str:
    """``key`` as a normalised path ``"a/b"``; TypeError or KeyError for a bad key."""
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
    """Whether ``obj`` is a table (a numpy structured array)."""
    return isinstance(obj, np.ndarray) and obj.dtype.names is not None


def is_dask(obj: Any) -> bool:
    """Whether ``obj`` is a dask array."""
    return type(obj).__module__.startswith("dask.array") and hasattr(obj, "dask")
