"""With Dask, the chunks of a worker that dies are run again elsewhere and the workflow completes."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np

from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import DaskEngine
from daisy_widgets.core.workflow import Step, Workflow


def test_killed_worker_chunks_are_retried():
    wf = Workflow(
        "resilient",
        [
            Step("wait", "core.delay", {"seconds": 0.4}, {"data": "x"}, {"data": "y"}, block=1),
            Step("scale", "core.scale", {"factor": 2.0}, {"data": "y"}, {"data": "z"}),
        ],
        persist=["z"],
    )
    with DaskEngine(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GB") as eng:
        pids = list(eng.client.run(os.getpid).values())
        assert len(pids) == 2
        events = []
        killed = []

        def kill_one_when_running():
            while not any(e.step == "wait" and e.chunks_done >= 1 for e in events):
                time.sleep(0.05)
            os.kill(pids[0], signal.SIGKILL)  # the worker process dies mid-run
            killed.append(pids[0])

        t = threading.Thread(target=kill_one_when_running, daemon=True)
        t.start()
        out = eng.run(wf, DataStore({"x": np.arange(10.0)}), progress=events.append)
        t.join(5)
        assert killed
        np.testing.assert_array_equal(out.compute("z"), 2 * np.arange(10.0))


def test_chunks_of_a_big_input_on_a_lost_worker_are_sent_again():
    """A big in-memory input is scattered chunk by chunk to the worker that runs it; when that
    worker dies, its chunks and their blocks are sent again from the client to another worker."""
    wf = Workflow(
        "resilient",
        [Step("wait", "core.delay", {"seconds": 1.5}, {"data": "x"}, {"data": "y"})],
        persist=["y"],
    )
    x = np.arange(4 * 50_000.0).reshape(4, 50_000)  # 1.6 MB: scattered, not in the task graph
    with DaskEngine(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GB") as eng:
        pids = list(eng.client.run(os.getpid).values())
        events = []
        killed = []

        def kill_one_while_its_chunks_run():
            while not any(e.step == "wait" for e in events):
                time.sleep(0.02)
            time.sleep(0.5)  # chunks started, none finished (1.5 s each)
            os.kill(pids[0], signal.SIGKILL)
            killed.append(not any(e.chunks_done for e in events if e.step == "wait"))

        t = threading.Thread(target=kill_one_while_its_chunks_run, daemon=True)
        t.start()
        out = eng.run(wf, DataStore({"x": x}), progress=events.append)
        t.join(5)
        assert killed == [True]  # killed before any chunk had finished
        np.testing.assert_array_equal(out.compute("y"), x)
        assert events[-1].fraction == 1.0
