"""Faults of a followed scan: the writer dies, a file that is not SWMR-readable, frames that change shape."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from daisy_widgets.cli import main
from daisy_widgets.core.errors import InputFileError
from daisy_widgets.tomography.live import LiveReconstruction, LiveScanError, SwmrFileSource

from .conftest import ROOT


def _wait_for_frames(path, n, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with h5py.File(path, "r", swmr=True) as f:
                if int(f["/exchange/frames_written"][2]) >= n:
                    return
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{path}: no {n} projection(s) written in {timeout} s")


def test_writer_dies_stalled_report_keeps_frames(tmp_path, acquire, capsys):
    path = tmp_path / "scan.h5"
    writer = acquire(
        path,
        "--width",
        "64",
        "--rows",
        "2",
        "--angles",
        "400",
        "--rate",
        "80",
        "--flats",
        "2",
        "--darks",
        "1",
    )
    statuses = []
    _wait_for_frames(path, 1)  # the writer process is up and writing (its start-up is not a stall)
    live = LiveReconstruction(SwmrFileSource(path, stall_timeout=1.5), center=32.0)

    def kill_after_some(st):
        statuses.append(st.frames)
        if st.frames >= 20 and writer.poll() is None:
            os.kill(writer.pid, signal.SIGKILL)  # the detector's writer dies mid-scan

    live.on_update = kill_after_some
    st = live.run()
    writer.wait(10)
    assert st.state == "stalled"
    assert "no new frame for 1.5 s" in st.message and "kept" in st.message
    kept = live.sinos.n
    assert 20 <= kept < 400
    assert st.preview is not None and np.isfinite(st.preview).all()
    final, _ = live.final_slices()  # what was received still reconstructs
    assert final.shape == (2, 64, 64)
    # the CLI: a stalled scan writes the slices of the frames received, marked stalled, exit code 3
    out = tmp_path / "partial.h5"
    assert main(["tomo", "watch", str(path), "-o", str(out), "--stall-timeout", "1", "--quiet"]) == 3
    text = capsys.readouterr().out
    assert "stalled" in text and f"from {kept} projection(s)" in text
    with h5py.File(out, "r") as f:
        assert f["/exchange"].attrs["scan_state"] == "stalled"
        assert int(f["/exchange"].attrs["projections"]) == kept


def test_file_held_by_a_writer_without_swmr(tmp_path, capsys):
    path = tmp_path / "plain.h5"
    code = textwrap.dedent(
        f"""
        import h5py, sys
        f = h5py.File({str(path)!r}, "w")
        f.create_dataset("/exchange/data", shape=(3, 2, 8), maxshape=(None, 2, 8), dtype="u2")
        f.flush()
        print("ready", flush=True)
        sys.stdin.read()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(InputFileError) as e:
            SwmrFileSource(path)
        msg = str(e.value)
        assert str(path) in msg and "did not enable SWMR" in msg and "swmr_mode = True" in msg
        assert main(["tomo", "watch", str(path), "-o", str(tmp_path / "o.h5"), "--quiet"]) == 1
        assert "did not enable SWMR" in capsys.readouterr().err
    finally:
        holder.communicate("", timeout=10)
    assert not (tmp_path / "o.h5").exists()


def test_not_a_data_exchange_file(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = [1]
    with pytest.raises(InputFileError, match=r"\[/exchange/data\]: expected a Data Exchange scan"):
        SwmrFileSource(path)


_SHAPE_WRITER = """
import h5py, numpy as np, sys, time, pathlib
path, go = sys.argv[1], pathlib.Path(sys.argv[2])
f = h5py.File(path, "w", libver="latest")
ex = f.create_group("exchange")
d = {k: ex.create_dataset(k, shape=(0, 2, 16), maxshape=(None, None, None), chunks=(1, 2, 16), dtype="u2")
     for k in ("data", "data_white", "data_dark")}
th = ex.create_dataset("theta", shape=(0,), maxshape=(None,), chunks=(64,), dtype="f8")
c = ex.create_dataset("frames_written", data=np.zeros(3, np.int64), maxshape=(3,), chunks=(3,))
ex.create_dataset("scan_complete", data=np.zeros(1, np.uint8), maxshape=(1,), chunks=(1,))
f.swmr_mode = True
def put(name, k, frame):
    ds = d[name]; ds.resize(k + 1, axis=0); ds[k] = frame; ds.flush()
put("data_dark", 0, np.full((2, 16), 10)); put("data_white", 0, np.full((2, 16), 1000))
for k in range(5):
    put("data", k, np.full((2, 16), 500)); th.resize((k + 1,)); th[k] = k; th.flush()
    c[:] = [1, 1, k + 1]; c.flush()
while not go.exists():
    time.sleep(0.02)
ds = d["data"]; ds.resize((6, 2, 24)); ds[5] = np.full((2, 24), 500); ds.flush()
th.resize((6,)); th[5] = 5; th.flush(); c[:] = [1, 1, 6]; c.flush()
time.sleep(0.5)
f.close()
"""


def test_frames_change_shape_mid_scan(tmp_path):
    path, go = tmp_path / "shape.h5", tmp_path / "go"
    writer = subprocess.Popen([sys.executable, "-c", _SHAPE_WRITER, str(path), str(go)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        live = LiveReconstruction(SwmrFileSource(path, stall_timeout=20, wait=10), center=7.5)
        while live.sinos is None or live.sinos.n < 5:
            live.step()
        go.touch()
        with pytest.raises(LiveScanError) as e:
            while live.step():
                time.sleep(0.02)
        msg = str(e.value)
        assert str(path) in msg and "changed shape from (2, 16) to (2, 24)" in msg
        assert "are kept" in msg
        assert live.sinos.n == 5 and live.source.state == "failed"
    finally:
        writer.wait(30)


def test_ctrl_c_stops_acquire_and_marks_the_file(tmp_path, acquire):
    from daisy_widgets.store.acquisition import acquisition_state

    path = tmp_path / "scan.h5"
    writer = acquire(path, "--width", "64", "--rows", "2", "--angles", "500", "--rate", "50")
    _wait_for_frames(path, 5)
    writer.send_signal(signal.SIGINT)  # Ctrl-C
    assert writer.wait(30) == 130
    assert "stopped after" in writer.stderr.read()
    assert acquisition_state(path) == "stopped"
    src = SwmrFileSource(path)
    blocks = src.poll()
    assert src.state == "stopped" and "stopped the scan after" in src.message
    kept = sum(len(b) for b in blocks if b.kind == "projection")
    assert 5 <= kept < 500


def test_writer_gone_without_the_complete_flag_is_incomplete(tmp_path):
    from daisy_widgets.store.acquisition import acquisition_state

    path = tmp_path / "scan.h5"
    code = (
        "import sys; from daisy_widgets.tomography.io.swmr_writer import PhantomDetector, acquire_phantom_scan; "
        "acquire_phantom_scan(sys.argv[1], PhantomDetector(32, 2, 50), 2, 1, 0, stop_after=7)"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(path)],
        cwd=ROOT,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert acquisition_state(path) == "incomplete"
    src = SwmrFileSource(path, stall_timeout=0.3)
    got = sum(len(b) for b in src.poll() if b.kind == "projection")
    time.sleep(0.4)
    src.poll()
    assert got == 7 and src.state == "stalled" and "after 7 projection(s) of 50" in src.message
