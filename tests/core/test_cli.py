"""``daisy algorithms`` and ``daisy workflow`` commands; CLI options generated from declarations."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

from daisy_widgets.cli import main
from daisy_widgets.core.algorithm import Algorithm
from daisy_widgets.core.cli_options import (
    add_param_options,
    params_from_args,
    params_to_argv,
)
from daisy_widgets.core.params import Bool, Choice, Float, Int, IntList
from daisy_widgets.core.workflow import Step, Workflow


class _Demo(Algorithm):
    """Demo."""

    name = "test.demo"
    params = (
        Float("center_x", None, optional=True, min=0, unit="px", help="rotation axis"),
        Int("n", 3, min=1, max=9, help="count"),
        Bool("flip", False, help="mirror"),
        Choice("filter", "ramp", ("ramp", "hann")),
        IntList("ids", (0, 1), help="detector IDs"),
    )


def test_options_generated_from_declaration_round_trip():
    p = argparse.ArgumentParser()
    add_param_options(p, _Demo)
    helptext = p.format_help()
    assert (
        "--center-x X" in helptext
        and "rotation axis; unit: px; range [0, inf]; default: auto" in " ".join(helptext.split())
    )
    values = {"center_x": 12.5, "n": 4, "flip": True, "filter": "hann", "ids": (0, 3, 4)}
    args = p.parse_args(params_to_argv(_Demo, values))
    assert _Demo.coerce_params(params_from_args(_Demo, args)) == values
    assert params_from_args(_Demo, p.parse_args([])) == {}  # defaults come from the declaration
    assert set(_Demo.validate_params(params_from_args(_Demo, p.parse_args(["--n", "0", "--ids", "x"])))) == {
        "n",
        "ids",
    }


def test_algorithms_lists_names_with_summaries(capsys):
    assert main(["algorithms"]) == 0
    out = capsys.readouterr().out
    assert "core.scale" in out and "Multiply an array by a factor" in out
    assert main(["algorithms", "core.smooth"]) == 0
    assert "--iterations" in capsys.readouterr().out
    assert main(["algorithms", "core.nope"]) == 1


def _files(tmp_path, n=12):
    x = np.arange(n * 4.0).reshape(n, 4)
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["exchange/data"] = x
    wf = Workflow(
        "cli",
        [
            Step("scale", "core.scale", {"factor": 2.0}, {"data": "raw"}, {"data": "out/scaled"}),
            Step("stats", "core.slice_stats", {}, {"data": "out/scaled"}, {"stats": "out/stats"}),
        ],
        persist=["out"],
    )
    wf.save(tmp_path / "wf.json")
    return x


def test_workflow_run_writes_output(tmp_path, capsys):
    x = _files(tmp_path)
    rc = main(
        [
            "workflow",
            "run",
            str(tmp_path / "wf.json"),
            "-q",
            "--input",
            f"raw={tmp_path / 'in.h5'}:/exchange/data",
            "--set",
            "scale.factor=3",
            "--output",
            str(tmp_path / "out.h5"),
        ]
    )
    assert rc == 0
    with h5py.File(tmp_path / "out.h5") as f:
        np.testing.assert_allclose(f["out/scaled"][()], 3 * x)
        assert len(f["out/stats"]) == len(x)
    assert main(["workflow", "validate", str(tmp_path / "wf.json"), "-i", "raw"]) == 0
    assert main(["workflow", "show", str(tmp_path / "wf.json")]) == 0
    assert "scale [core.scale]" in capsys.readouterr().out


def test_workflow_run_bad_input_names_file_and_field(tmp_path, capsys):
    _files(tmp_path)
    rc = main(
        [
            "workflow",
            "run",
            str(tmp_path / "wf.json"),
            "-q",
            "--input",
            f"raw={tmp_path / 'in.h5'}:/exchange/nope",
        ]
    )
    assert rc == 1
    assert "in.h5 [/exchange/nope]: expected an HDF5 dataset" in capsys.readouterr().err
    rc = main(
        [
            "workflow",
            "run",
            str(tmp_path / "wf.json"),
            "-q",
            "--input",
            f"raw={tmp_path / 'in.h5'}:/exchange/data",
            "--set",
            "scale.factor=abc",
        ]
    )
    assert rc == 1
    assert "step 'scale'" in capsys.readouterr().err


def test_step_command_uses_generated_options(tmp_path):
    x = _files(tmp_path)
    rc = main(
        [
            "workflow",
            "step",
            "core.scale",
            "--factor",
            "5",
            "--offset",
            "1",
            "-q",
            "--input",
            f"data={tmp_path / 'in.h5'}:/exchange/data",
            "--output",
            str(tmp_path / "s.h5"),
        ]
    )
    assert rc == 0
    with h5py.File(tmp_path / "s.h5") as f:
        np.testing.assert_allclose(f["data"][()], 5 * x + 1)


def test_ctrl_c_cancels_cleanly_and_writes_nothing(tmp_path):
    _files(tmp_path)
    wf = Workflow(
        "slow",
        [Step("wait", "core.delay", {"seconds": 8.0}, {"data": "raw"}, {"data": "out"})],
        persist=["out"],
    )
    wf.save(tmp_path / "slow.json")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daisy_widgets.cli",
            "workflow",
            "run",
            str(tmp_path / "slow.json"),
            "--input",
            f"raw={tmp_path / 'in.h5'}:/exchange/data",
            "--output",
            str(tmp_path / "o.h5"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    buf = ""
    deadline = time.monotonic() + 30
    while "chunk" not in buf and time.monotonic() < deadline:  # the progress bar is running
        buf += proc.stderr.read(1)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=20)[1]
    assert time.monotonic() - t0 < 6  # well before the 8 s the running chunk would take
    assert proc.returncode == 130
    assert "cancelled: nothing was written" in rest
    assert not (tmp_path / "o.h5").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_workflow_run_on_dask_localcluster(tmp_path):
    x = _files(tmp_path)
    rc = main(
        [
            "workflow",
            "run",
            str(tmp_path / "wf.json"),
            "-q",
            "--engine",
            "dask",
            "--workers",
            "1",
            "--input",
            f"raw={tmp_path / 'in.h5'}:/exchange/data",
            "--output",
            str(tmp_path / "out.h5"),
        ]
    )
    assert rc == 0
    with h5py.File(tmp_path / "out.h5") as f:
        np.testing.assert_allclose(f["out/scaled"][()], 2 * x)


def test_failed_dask_step_is_one_error_line_not_a_worker_traceback(tmp_path):
    """A task failing on a worker process: the run report and one ``daisy: error`` line; the
    worker's own "Compute Failed" traceback does not reach the terminal."""
    _files(tmp_path)
    with h5py.File(tmp_path / "text.h5", "w") as f:
        f["names"] = np.array([b"abc", b"de"])
    proc = subprocess.run(
        [sys.executable, "-m", "daisy_widgets.cli", "workflow", "run", str(tmp_path / "wf.json"), "-q"]
        + ["--engine", "dask", "--workers", "1", "--input", f"raw={tmp_path / 'text.h5'}:/names"]
        + ["--output", str(tmp_path / "out.h5")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 1
    assert "daisy: error: workflow 'cli', step 'scale'" in proc.stderr
    assert "UFuncTypeError" in proc.stderr
    assert "Traceback" not in proc.stderr and "Compute Failed" not in proc.stderr, proc.stderr
    assert not (tmp_path / "out.h5").exists()


def test_workflow_run_with_scheduler_address(tmp_path, dask_engine):
    x = _files(tmp_path)
    addr = dask_engine.client.scheduler.address
    rc = main(
        [
            "workflow",
            "run",
            str(tmp_path / "wf.json"),
            "-q",
            "--scheduler",
            addr,
            "--input",
            f"raw={tmp_path / 'in.h5'}:/exchange/data",
            "--output",
            str(tmp_path / "out.h5"),
        ]
    )
    assert rc == 0
    with h5py.File(tmp_path / "out.h5") as f:
        np.testing.assert_allclose(f["out/scaled"][()], 2 * x)
    assert dask_engine.client.status == "running"  # the user's cluster is left running
