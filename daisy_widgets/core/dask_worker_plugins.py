"""Dask worker plug-ins of the engine (imported only where ``distributed`` is in use)."""

from __future__ import annotations

import logging
from typing import Any

from distributed import WorkerPlugin


class QuietTaskFailures(WorkerPlugin):
    """The worker stops logging "Compute Failed" with a traceback for a failed task.

    The engine reports each failed task itself (a ``ChunkError`` naming the workflow, the
    step and the chunk, and the run report), so the worker's own log line would only print
    the same failure again, as a raw traceback in the user's terminal or kernel log. Other
    worker messages (lost workers, memory warnings) stay.
    """

    name = "daisy-quiet-task-failures"

    def setup(self, worker: Any) -> None:
        logging.getLogger("distributed.worker").addFilter(drop_compute_failed)


def drop_compute_failed(record: logging.LogRecord) -> bool:
    """Logging filter: False for the worker's "Compute Failed" records."""
    return not str(record.msg).startswith("Compute Failed")
