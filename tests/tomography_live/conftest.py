"""Helpers of the live-mode tests: run ``daisy tomo acquire`` in another process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def daisy_process(*args: str) -> subprocess.Popen:
    """``python -m daisy_widgets.cli ARGS`` in a new process, with this tree on the path."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-m", "daisy_widgets.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="session")
def compiled():
    """The preview's compiled back-projection loaded once (numba), before any scan starts."""
    import math

    import numpy as np

    from daisy_widgets.tomography.live import SectorPreview

    SectorPreview(8, 3.5, math.pi / 4, "ramp", 1).add(np.ones((2, 8), np.float32), np.array([0.0, 0.7]))


@pytest.fixture
def acquire(compiled):
    """``acquire(path, *options)`` starts ``daisy tomo acquire`` in another process; waited for at the end."""
    procs: list[subprocess.Popen] = []

    def start(path: Path, *options: str) -> subprocess.Popen:
        p = daisy_process("tomo", "acquire", str(path), "--quiet", *options)
        procs.append(p)
        return p

    yield start
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
