"""Data-store objects held by Dask: bringing them into memory, and computing them block by block.

A dask array's blocks may live on a ``distributed`` cluster (the results of a
:class:`~daisy_widgets.core.engine.DaskEngine` run): :func:`gather_blocks` fetches each
block straight from its worker; :func:`iter_blocks` computes a few blocks at a time so
memory stays bounded (saving to HDF5 uses it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from .datastore_objects import is_dask
from .errors import Cancelled


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


def n_blocks(obj: Any) -> int:
    """Blocks written for ``obj`` when it is saved (a dask array's blocks; 1 otherwise)."""
    if is_dask(obj):
        return int(np.prod(obj.numblocks))
    return 1


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
