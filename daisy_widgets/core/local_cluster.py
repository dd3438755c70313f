"""The local Dask cluster of :class:`~daisy_widgets.core.engine_dask.DaskEngine`, its GPU workers labelled.

A ``distributed.LocalCluster`` whose first ``gpu_workers`` workers are started with the
Dask resource ``GPU=1`` (:data:`~daisy_widgets.core.resources.DASK_NAMES`), as the
Kubernetes GPU workers are (``dask worker --resources GPU=1``): a step that needs a
GPU has its chunks run only there. ``gpu_workers="auto"`` labels one worker per CUDA
device CuPy sees (none without a GPU), each worker process then seeing its own device.

The cluster is set up for CPU-bound chunks (:func:`lean_worker_settings`): the workers'
statistical profiler is off unless asked for, the event-loop health check runs every
100 ms instead of 20 ms, and each worker process gets its share of the cores for numba's
parallel loops (``NUMBA_NUM_THREADS``) as Dask already does for OpenMP, MKL and OpenBLAS.
"""

from __future__ import annotations

import os
from typing import Any

from .resources import DASK_NAMES


def count_gpus() -> int:
    """CUDA devices of this machine (0 without CuPy or a GPU)."""
    from .backend import gpu_available

    if not gpu_available():
        return 0
    import cupy

    return int(cupy.cuda.runtime.getDeviceCount())


#: Dask settings of the engine's LocalCluster (the scheduler and every worker). The workers'
#: statistical profiler (the dashboard's "Profile" page) samples every worker thread's stack
#: every 10 ms: about 2 % of a core per idle worker process, and it competes with the chunks
#: for the cores. The event loops' health check ("event loop was unresponsive" warnings,
#: still given after 3 s) wakes every process 50 times a second at its default 20 ms.
LEAN_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "100ms",
}


def lean_worker_settings(
    cluster_kw: dict[str, Any], profile: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """The Dask configuration and the worker processes' environment for a LocalCluster.

    Parameters
    ----------
    cluster_kw
        ``LocalCluster`` keyword arguments (``n_workers``, ``threads_per_worker``, ``processes``).
    profile
        Keep the workers' statistical profiler on (the dashboard's "Profile" page).

    Returns
    -------
    config, env
        Dask configuration (:data:`LEAN_CONFIG`, less the profiler switch with ``profile``)
        and the environment of worker processes: ``NUMBA_NUM_THREADS`` = the cores this
        process may use (``dask.system.CPU_COUNT``) shared among all worker threads (at least 1), unless this process's environment sets
        it already; empty for thread workers (``processes=False``), which share this process.
    """
    config = dict(LEAN_CONFIG)
    if profile:
        del config["distributed.worker.profile.enabled"]
    env: dict[str, str] = {}
    if cluster_kw.get("processes", True) and "NUMBA_NUM_THREADS" not in os.environ:
        threads = int(cluster_kw.get("n_workers", 2)) * int(cluster_kw.get("threads_per_worker", 1) or 1)
        from dask.system import CPU_COUNT  # the cores this process may use (affinity, cgroup quota)

        env["NUMBA_NUM_THREADS"] = str(max(1, CPU_COUNT // max(1, threads)))
    return config, env


def start_local_cluster(
    cluster_kw: dict[str, Any], gpu_workers: int | str = "auto", *, profile: bool = False
) -> Any:
    """A LocalCluster of ``cluster_kw["n_workers"]`` workers, ``gpu_workers`` of them GPU-labelled.

    Parameters
    ----------
    cluster_kw
        ``LocalCluster`` keyword arguments (``n_workers``, ``threads_per_worker``, ``processes``...).
    gpu_workers
        Workers given the ``GPU=1`` resource (at most ``n_workers``); ``"auto"``: one per
        CUDA device found, and each such worker process sees only its device.
    profile
        Keep the workers' statistical profiler on (see :func:`lean_worker_settings`).
    """
    import dask
    from distributed import LocalCluster

    n = int(cluster_kw.get("n_workers", 2))
    real = gpu_workers == "auto"
    devices = count_gpus() if real else 0
    g = min(n, devices if real else int(gpu_workers))
    config, env = lean_worker_settings(cluster_kw, profile)
    kw = {**cluster_kw, "n_workers": n - g}
    if env:
        kw["env"] = {**env, **(cluster_kw.get("env") or {})}
    # the scheduler and thread workers read the configuration when they are made; each nanny
    # keeps the configuration of its making for its worker process (also a restarted one)
    with dask.config.set(config):
        cluster = LocalCluster(**kw)
        if g:
            template = cluster.new_spec
            for i in range(g):
                options = {**template["options"], "resources": {DASK_NAMES["gpu"]: 1}}
                if real and cluster_kw.get("processes", True):
                    options["env"] = {**options.get("env", {}), "CUDA_VISIBLE_DEVICES": str(i)}
                cluster.new_spec = {**template, "options": options}
                cluster.scale(n - g + i + 1)
            cluster.new_spec = template
            cluster.wait_for_workers(n, timeout=120)
    return cluster


def connect_local_cluster(
    cluster_kw: dict[str, Any], gpu_workers: int | str = "auto", *, profile: bool = False
) -> tuple[Any, Any]:
    """Start a LocalCluster (:func:`start_local_cluster`) and return it with its default client.

    The client moves data to and from the workers directly (``direct_to_workers``), not
    through the scheduler: one hop less for every scattered block and every gathered
    result. Its workers do not log the failures the engine reports (:func:`quiet_task_failures`).
    """
    from distributed import Client

    cluster = start_local_cluster(cluster_kw, gpu_workers, profile=profile)
    client = Client(cluster, set_as_default=True, direct_to_workers=True)
    quiet_task_failures(client)
    return cluster, client


def quiet_task_failures(client: Any) -> None:
    """Stop ``client``'s workers (also later ones) logging "Compute Failed" with a traceback.

    See :class:`~daisy_widgets.core.dask_worker_plugins.QuietTaskFailures`.
    """
    from .dask_worker_plugins import QuietTaskFailures

    client.register_plugin(QuietTaskFailures())
