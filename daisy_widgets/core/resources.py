"""What a step needs (GPU, memory per chunk, threads) and which workers can give it.

An algorithm declares ``resources = {"gpu": 1}`` on its class; a workflow step may
override it (``"resources": {"gpu": 0, "memory": "2GB"}``). Names:

======== ================================= ==========================================
name     value                             a worker offers it when
======== ================================= ==========================================
gpu      GPUs per chunk (integer)          started with the Dask resource ``GPU``
                                           (``dask worker --resources GPU=1``; the
                                           Kubernetes GPU workers and the local
                                           cluster's GPU workers are); in-process:
                                           this machine has a CUDA GPU (CuPy)
memory   bytes per chunk (``"2GB"`` or int) its memory limit is at least that
threads  threads per chunk (integer)       it has at least that many threads
other    any amount                        started with that Dask resource name
======== ================================= ==========================================

On Dask, ``gpu`` and other names become ``distributed`` resource restrictions (so a
GPU step's chunks run only on GPU-labelled workers, one chunk per GPU at a time);
``memory`` and ``threads`` restrict the chunks to the workers big enough.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Dask resource name of a Daisy resource (others keep their own name)
DASK_NAMES = {"gpu": "GPU"}
#: resources checked against a worker's capacity rather than declared as Dask resources
CAPACITY = ("memory", "threads")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_amount(name: str, value: Any) -> float:
    """The amount of one resource as a number (``memory`` accepts ``"2GB"``).

    Raises
    ------
    ValueError
        Naming the resource and what was expected.
    """
    if name == "memory" and isinstance(value, str):
        from dask.utils import parse_bytes

        try:
            return float(parse_bytes(value))
        except (ValueError, TypeError):
            raise ValueError(f"memory: expected bytes such as '2GB' or 2e9; got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name}: expected a number >= 0; got {value!r}")
    if name in ("gpu", "threads") and value != int(value):
        raise ValueError(f"{name}: expected a whole number; got {value!r}")
    return float(value)


def resource_problems(res: Any) -> list[str]:
    """Every problem of a ``resources`` mapping (empty when it is fine)."""
    if not isinstance(res, Mapping):
        return [f"expected an object like {{'gpu': 1}}; got {res!r}"]
    out = []
    for k, v in res.items():
        if not isinstance(k, str) or not _NAME.match(k):
            out.append(f"resource name {k!r} is not a plain name")
            continue
        try:
            parse_amount(k, v)
        except ValueError as exc:
            out.append(str(exc))
    return out


def needs(algo_cls: type | None, step_resources: Mapping[str, Any] | None) -> dict[str, float]:
    """What a step needs: the algorithm's declaration updated by the step's own; zero amounts dropped."""
    merged: dict[str, Any] = dict(getattr(algo_cls, "resources", None) or {})
    merged.update(step_resources or {})
    return {k: parse_amount(k, v) for k, v in merged.items() if parse_amount(k, v) > 0}


@dataclass(frozen=True)
class WorkerOffer:
    """What one worker can give a chunk.

    Attributes
    ----------
    address
        Worker address (``"inprocess"`` for this process).
    resources
        Dask resources it was started with (``{"GPU": 1}``).
    memory
        Memory limit in bytes (0: no limit known).
    threads
        Worker threads.
    """

    address: str
    resources: Mapping[str, float]
    memory: float
    threads: int


def satisfies(offer: WorkerOffer, need: Mapping[str, float]) -> bool:
    for name, amount in need.items():
        if name == "memory":
            if offer.memory and offer.memory < amount:
                return False
        elif name == "threads":
            if offer.threads < amount:
                return False
        elif offer.resources.get(DASK_NAMES.get(name, name), 0) < amount:
            return False
    return True


def eligible(offers: list[WorkerOffer], need: Mapping[str, float]) -> list[str]:
    """Addresses of the workers that can run a chunk needing ``need``."""
    return [o.address for o in offers if satisfies(o, need)]


def describe(need: Mapping[str, float]) -> str:
    return ", ".join(
        f"{k}={_fmt_bytes(v) if k == 'memory' else int(v) if v == int(v) else v}" for k, v in need.items()
    )


def describe_offers(offers: list[WorkerOffer]) -> str:
    if not offers:
        return "no workers"
    parts = []
    for o in offers:
        res = ", ".join(f"{k}={v:g}" for k, v in o.resources.items()) or "no resources"
        parts.append(
            f"{o.address} ({res}, {o.threads} thread(s), {_fmt_bytes(o.memory) or 'no memory limit'})"
        )
    return "; ".join(parts)


def dask_restrictions(need: Mapping[str, float], offers: list[WorkerOffer]) -> dict[str, Any]:
    """``{"resources": {...}, "workers": [...]}`` for ``client.submit``/``compute`` (empty: no restriction)."""
    out: dict[str, Any] = {}
    res = {DASK_NAMES.get(k, k): v for k, v in need.items() if k not in CAPACITY}
    if res:
        out["resources"] = res
    if need:
        out["workers"] = eligible(offers, need)
    return out


def inprocess_offer() -> list[WorkerOffer]:
    """What this process offers: its CUDA GPUs (when CuPy sees any), memory and cores."""
    from .backend import gpu_available

    gpus = 0
    if gpu_available():
        import cupy

        gpus = int(cupy.cuda.runtime.getDeviceCount())
    try:
        memory = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        memory = 0.0
    return [WorkerOffer("inprocess", {"GPU": gpus} if gpus else {}, memory, os.cpu_count() or 1)]


def dask_offers(client: Any) -> list[WorkerOffer]:
    """What each worker of a Dask cluster offers (from the scheduler)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return [
        WorkerOffer(
            addr,
            dict(w.get("resources") or {}),
            float(w.get("memory_limit") or 0),
            int(w.get("nthreads", 1)),
        )
        for addr, w in workers.items()
    ]


def _fmt_bytes(n: float) -> str:
    if not n:
        return ""
    from dask.utils import format_bytes

    return format_bytes(int(n))
