"""Lazy Dask steps: a step's outputs as dask graphs over its chunk tasks, computed when saved.

Inputs larger than the cluster's memory then stream block by block through every step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .algorithm import Algorithm
from .dask_queue import wait_chunks
from .dask_tasks import output_meta, pick_output
from .datastore import DataStore
from .engine_base import RunReporter
from .errors import Cancelled, StepError
from .progress import CancelToken
from .workflow import Step, Workflow


def lazy_outputs(
    client: Any,
    wf: Workflow,
    index: int,
    path: str,
    step: Step,
    algo: Algorithm,
    tasks: list,
    ranges: list[tuple[int, int]] | None,
    store: DataStore,
    label: Callable[[int], str | None],
    rep: RunReporter,
    cancel: CancelToken,
    live: list[Any],
    retries: int = 1,
) -> None:
    """Put the outputs of a lazy step (chunk ``tasks``, dask delayed) in ``store`` as dask arrays.

    Only the first chunk's output metadata is computed now; table outputs of a split step
    are small and computed at once.
    """
    import dask
    import dask.array as da

    try:  # probe the first chunk for output shapes and dtypes (only metadata travels back)
        meta = client.compute(dask.delayed(output_meta)(tasks[0]), retries=retries).result()
    except Cancelled:
        raise
    except StepError:
        raise
    except Exception as exc:
        raise StepError(wf.name, path, exc, chunk=label(0)) from exc
    split = algo.split
    for port, key in step.outputs.items():
        if port not in meta:
            continue
        kind, shape0, dt = meta[port]
        if kind == "table" and ranges is not None and port in split.outputs:
            # tables are small: compute every chunk now (this streams the inputs through the graph)
            futures = client.compute([dask.delayed(pick_output)(t, port) for t in tasks], retries=retries)
            live.extend(futures)
            wait_chunks(
                client,
                wf,
                path,
                index,
                futures,
                {f.key: i for i, f in enumerate(futures)},
                label,
                rep,
                cancel,
            )
            store[key] = np.concatenate(client.gather(futures))
            for f in futures:
                live.remove(f)
            continue
        if kind != "array":
            store[key] = client.compute(dask.delayed(pick_output)(tasks[0], port)).result()
            continue
        if ranges is None or port not in split.outputs:
            store[key] = da.from_delayed(dask.delayed(pick_output)(tasks[0], port), shape0, np.dtype(dt))
            continue
        ax = split.outputs[port]
        n0 = ranges[0][1] - ranges[0][0]
        if (shape0[ax] * 1.0 / n0) != int(shape0[ax] / n0) and n0:
            raise StepError(
                wf.name,
                path,
                ValueError(
                    f"lazy mode needs output {port!r} to scale with the chunk length; chunk of {n0} gave {shape0[ax]}"
                ),
            )
        ratio = shape0[ax] // n0 if n0 else 1
        parts = []
        for t, (a, b) in zip(tasks, ranges, strict=False):
            shp = list(shape0)
            shp[ax] = (b - a) * ratio
            parts.append(da.from_delayed(dask.delayed(pick_output)(t, port), tuple(shp), np.dtype(dt)))
        store[key] = da.concatenate(parts, axis=ax) if len(parts) > 1 else parts[0]
