"""Fixtures of the plug-in tests: building a plug-in project with pip, the ``daisy`` CLI in a
subprocess that sees it, and a small Dask engine."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from daisy_widgets.core.registry import PluginWarning

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _quiet_plugins():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        yield


def _env(extra_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # the venv's build tools (meson, ninja) first; this tree's daisy_widgets before any installed one
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + ([str(extra_path)] if extra_path else []) + [env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    return env


@pytest.fixture()
def pip_install():
    """``pip_install(project, target)``: build and install a plug-in project into the folder
    ``target`` (``pip install --target``, never into the venv), with the build tools of the
    venv (``--no-build-isolation``: offline). Returns the finished process."""

    def run(project: Path, target: Path, timeout: float = 900) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps"]
        cmd += ["--disable-pip-version-check", "--target", str(target), str(project)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env())

    return run


@pytest.fixture()
def daisy_cli():
    """``daisy_cli(*args, site=None)``: run ``daisy ARGS`` in a subprocess that imports this tree's
    daisy_widgets and the packages installed in ``site``. Returns the finished process."""

    def run(*args: str, site: Path | None = None, cwd: Path | None = None, timeout: float = 300):
        cmd = [sys.executable, "-m", "daisy_widgets.cli", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(site), cwd=cwd)

    return run


@pytest.fixture()
def python_in(tmp_path):
    """``python_in(site, *args)``: run ``python ARGS`` seeing this tree and ``site``."""

    def run(site: Path | None, *args: str, cwd: Path | None = None, timeout: float = 300):
        return subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=_env(site), cwd=cwd
        )

    return run


@pytest.fixture(scope="module")
def dask_engine():
    """A DaskEngine on a real ``distributed.LocalCluster`` (2 thread workers)."""
    from daisy_widgets.core.engine import DaskEngine

    eng = DaskEngine(n_workers=2, threads_per_worker=1, processes=False, memory_limit="2GB")
    _ = eng.client
    yield eng
    eng.close()
