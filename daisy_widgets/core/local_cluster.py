"""The local Dask cluster of :class:`~daisy_widgets.core.engine_dask.DaskEngine`, its GPU workers labelled.

A ``distributed.LocalCluster`` whose first ``gpu_workers`` workers are started with the
Dask resource ``GPU=1`` (:data:`~daisy_widgets.core.resources.DASK_NAMES`), as the
Kubernetes GPU workers are (``dask worker --resources GPU=1``): a step that needs a
GPU has its chunks run only there. ``gpu_workers="auto"`` labels one worker per CUDA
device CuPy sees (none without a GPU), each worker process then seeing its own device.
"""

from __future__ import annotations

from typing import Any

from .resources import DASK_NAMES


def count_gpus() -> int:
    """CUDA devices of this machine (0 without CuPy or a GPU)."""
    from .backend import gpu_available

    if not gpu_available():
        return 0
    import cupy

    return int(cupy.cuda.runtime.getDeviceCount())


def start_local_cluster(cluster_kw: dict[str, Any], gpu_workers: int | str = "auto") -> Any:
    """A LocalCluster of ``cluster_kw["n_workers"]`` workers, ``gpu_workers`` of them GPU-labelled.

    Parameters
    ----------
    cluster_kw
        ``LocalCluster`` keyword arguments (``n_workers``, ``threads_per_worker``, ``processes``...).
    gpu_workers
        Workers given the ``GPU=1`` resource (at most ``n_workers``); ``"auto"``: one per
        CUDA device found, and each such worker process sees only its device.
    """
    from distributed import LocalCluster

    n = int(cluster_kw.get("n_workers", 2))
    real = gpu_workers == "auto"
    devices = count_gpus() if real else 0
    g = min(n, devices if real else int(gpu_workers))
    cluster = LocalCluster(**{**cluster_kw, "n_workers": n - g})
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


def quiet_task_failures(client: Any) -> None:
    """Stop ``client``'s workers (also later ones) logging "Compute Failed" with a traceback.

    See :class:`~daisy_widgets.core.dask_worker_plugins.QuietTaskFailures`.
    """
    from .dask_worker_plugins import QuietTaskFailures

    client.register_plugin(QuietTaskFailures())
