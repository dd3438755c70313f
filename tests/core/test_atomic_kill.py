"""Killing a process in the middle of DataStore.save never damages the previous file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

WRITER = r"""
import sys, numpy as np, dask.array as da
from daisy_widgets.core.datastore import DataStore
target = sys.argv[1]
# ~400 MB written block by block, slowly enough to be killed in the middle
x = da.random.random((400, 1000, 125), chunks=(4, 1000, 125))
def progress(done, total):
    if done == 3:
        print("writing", flush=True)
DataStore({"work/recon": x}).save(target, progress=progress)
print("finished", flush=True)
"""


def test_sigkill_mid_write_keeps_old_file(tmp_path):
    target = tmp_path / "result.h5"
    with h5py.File(target, "w") as f:
        f["work/recon"] = np.arange(10.0)
    old = target.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "writing", line
        time.sleep(0.2)
        # a temporary file is being written beside the target while the target is untouched
        parts = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
        assert parts and parts[0].stat().st_size > 0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == old
    with h5py.File(target, "r") as f:  # still a valid HDF5 file with the old content
        np.testing.assert_array_equal(f["work/recon"][()], np.arange(10.0))
    # nothing half-written was renamed onto the target: only the old file and the orphan temp remain
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[-1] == "result.h5" and all(
        n.startswith(".result.h5.") and n.endswith(".part") for n in names[:-1]
    )
