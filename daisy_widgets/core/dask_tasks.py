"""What a Dask worker runs for a step: one chunk, its errors, and the outputs' metadata.

These functions are module level so that they pickle to the workers by reference.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .algorithm import Algorithm, RunContext
from .datastore import is_dask
from .errors import Cancelled, StepError

#: in-memory arrays larger than this are scattered to the workers rather than put in the task graph
SCATTER_BYTES = 1 << 20


class ChunkError(StepError):
    """A :class:`StepError` raised on a Dask worker; it pickles back to the client intact.

    Raised inside the chunk's task, so the error names the workflow, step and chunk
    whenever the chunk is computed: during the run, or later when a lazy result is saved.
    """

    def __reduce__(self) -> tuple:
        return (type(self), (self.workflow, self.step, self.cause, self.chunk))


def run_chunk(
    algo: Algorithm,
    whole: dict[str, Any],
    pieces: dict[str, Any],
    cancel_name: str | None,
    chunk_start: int = 0,
    where: tuple[str, str, str | None] = ("", "", None),
) -> dict[str, Any]:
    """Run one chunk of a step on a worker (module level so that it pickles).

    ``where`` is ``(workflow, step, chunk label)``; failures are raised as :class:`ChunkError`.
    """
    try:
        return _run_chunk_inner(algo, whole, pieces, cancel_name, chunk_start)
    except (Cancelled, StepError):
        raise
    except Exception as exc:
        wf_name, step, chunk = where
        raise ChunkError(wf_name, step, exc, chunk=chunk) from exc


def _run_chunk_inner(
    algo: Algorithm, whole: dict[str, Any], pieces: dict[str, Any], cancel_name: str | None, chunk_start: int
) -> dict[str, Any]:
    checker = None
    if cancel_name:
        state = {"t": 0.0, "v": False}

        def checker() -> bool:
            now = time.monotonic()
            if not state["v"] and now - state["t"] > 0.5:
                state["t"] = now
                try:
                    from distributed import Event

                    state["v"] = Event(cancel_name).is_set()
                except Exception:
                    state["v"] = False
            return state["v"]

    algo.context = RunContext(cancelled=checker)
    algo.context.chunk_start = chunk_start  # type: ignore[attr-defined]
    inputs = dict(whole)
    for k, v in pieces.items():
        inputs[k] = np.asarray(v) if is_dask(v) else v
    return algo(**inputs)


def is_big(v: Any) -> bool:
    """An in-memory array worth scattering to the workers rather than putting in the task graph."""
    return isinstance(v, np.ndarray) and v.nbytes > SCATTER_BYTES


def output_meta(result: dict[str, Any]) -> dict[str, tuple]:
    out = {}
    for k, v in result.items():
        if (
            hasattr(v, "shape")
            and hasattr(v, "dtype")
            and getattr(v, "ndim", 0) > 0
            and v.dtype.names is None
        ):
            out[k] = ("array", tuple(v.shape), np.dtype(v.dtype).str)
        elif isinstance(v, np.ndarray) and v.dtype.names is not None:
            out[k] = ("table", tuple(v.shape), None)
        else:
            out[k] = ("value", None, None)
    return out


def pick_output(result: dict[str, Any], name: str) -> Any:
    return result[name]


def dask_from_future(future: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """A dask array of one block held by a future on the cluster (nothing is transferred)."""
    import dask
    import dask.array as da

    return da.from_delayed(dask.delayed(future), shape, dtype)
