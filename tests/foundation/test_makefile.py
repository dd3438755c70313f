"""The Makefile's set-up is stamped: once done, a second run does nothing and takes well under a minute."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def set_up():
    if shutil.which("make") is None:
        pytest.skip("make missing")
    if not list((ROOT / ".venv").glob(".daisy-install-*")) or not list(
        (ROOT / "node_modules").glob(".daisy-install-*")
    ):
        pytest.skip("set-up stamps missing: run 'make setup' first (make test does)")


def test_second_setup_is_a_no_op(set_up):
    r = subprocess.run(["make", "-C", str(ROOT), "setup"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "pip install" not in r.stdout and "npm ci" not in r.stdout and "kernelspec install" not in r.stdout


def test_stamp_is_keyed_on_the_lock_files(set_up):
    """The stamp names carry the hash of pyproject.toml + constraints.txt (a change re-installs)."""
    r = subprocess.run(
        ["make", "-C", str(ROOT), "-n", "setup", "PY_HASH=0000000000000000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "pip install" in r.stdout and ".daisy-install-0000000000000000" in r.stdout


def test_demo_refuses_an_old_node(set_up, tmp_path):
    """node-check's message when node is too old (a fake 'node' printing v18 first on PATH)."""
    fake = tmp_path / "node"
    fake.write_text('#!/bin/sh\nif [ "$1" = --version ]; then echo v18.19.0; exit 0; fi\nexit 1\n')
    fake.chmod(0o755)
    import os

    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}")
    r = subprocess.run(
        ["make", "-C", str(ROOT), "node-check"], capture_output=True, text=True, env=env, timeout=60
    )
    assert r.returncode != 0 and "too old" in r.stderr and "node >= 20" in r.stderr


def test_make_test_fails_when_no_test_ran(set_up):
    """pytest's exit 5 ("no tests ran") fails ``make test`` (and so ``.ci/run``)."""
    # every test deselected (so this test does not run itself again)
    r = subprocess.run(
        ["make", "-C", str(ROOT), "test", "PYTEST_ARGS=-k no_test_is_named_like_this -p no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert r.returncode != 0
    assert "collected no tests" in r.stderr
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "set -" in ci
