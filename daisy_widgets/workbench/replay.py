"""Replaying a toolbox run from code: :func:`daisy_run`, the function of the replay line.

Each run of the algorithm toolbox writes its equivalent Python line to the console
(and so to the kernel's history), e.g.::

    x_scale = daisy_run("core.scale", {"data": x}, factor=2.0)["data"]

The same line in a script runs the algorithm through the engine. In the
workbench session the console executes it right after the toolbox run, with the
very same input objects and parameters: :func:`daisy_run` then returns the
outputs the toolbox has just computed (:func:`remember`) instead of computing
them a second time. The match is by algorithm, parameters, engine and the
identity of each input object, and is used once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

#: the last toolbox runs not yet replayed: (signature, input objects, outputs)
_RECENT: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
_LOCK = threading.Lock()
_KEEP = 8


def _signature(algorithm: str, params: Mapping[str, Any], engine: str) -> str:
    return json.dumps([algorithm, engine, sorted((k, repr(v)) for k, v in params.items())])


def _typed(algorithm: str, params: Mapping[str, Any]) -> dict[str, Any]:
    from ..core.registry import get_algorithm

    cls = get_algorithm(algorithm)
    vals = cls.coerce_params(dict(params))
    return {p.name: p.to_json_value(vals[p.name]) for p in cls.params}


def remember(
    algorithm: str,
    params: Mapping[str, Any],
    engine: str,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any],
) -> None:
    """Keep the outputs of a toolbox run for its replay line (the last few runs only)."""
    sig = _signature(algorithm, _typed(algorithm, params), engine)
    with _LOCK:
        _RECENT.append((sig, dict(inputs), dict(outputs)))
        del _RECENT[: max(0, len(_RECENT) - _KEEP)]


def _take(sig: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    with _LOCK:
        for i in range(len(_RECENT) - 1, -1, -1):
            s, ins, outs = _RECENT[i]
            if s == sig and ins.keys() == inputs.keys() and all(ins[k] is inputs[k] for k in ins):
                del _RECENT[i]
                return outs
    return None


def daisy_run(
    algorithm: str, inputs: Mapping[str, Any], *, engine: str = "inprocess", **params: Any
) -> dict[str, Any]:
    """Run one registered algorithm on in-memory inputs through the engine; returns ``{output port: value}``.

    Parameters
    ----------
    algorithm
        Registry name, e.g. ``"core.scale"``.
    inputs
        ``{input port: array or table}``.
    engine
        ``"inprocess"`` or ``"dask"`` (dask results are computed before they are returned).
    params
        Parameter values; missing ones take the declared defaults.
    """
    typed = _typed(algorithm, params)
    done = _take(_signature(algorithm, typed, engine), inputs)
    if done is not None:
        return dict(done)
    from ..core.datastore import DataStore
    from ..core.engine import run_workflow
    from ..core.workflow import Step, Workflow

    store = DataStore({f"in/{p}": v for p, v in inputs.items()})
    from ..core.registry import get_algorithm

    cls = get_algorithm(algorithm)
    step = Step(
        id=algorithm.rsplit(".", 1)[-1],
        algorithm=algorithm,
        params=typed,
        inputs={p: f"in/{p}" for p in inputs},
        outputs={p.name: f"out/{p.name}" for p in cls.outputs},
    )
    result = run_workflow(Workflow(name=algorithm, steps=[step]), store, engine=engine, release=False)
    return {p.name: result.compute(f"out/{p.name}") for p in cls.outputs if f"out/{p.name}" in result}
