"""Whole volumes streamed file to file (reading, computing, writing overlapped): same slices as the
workflow on the whole array, bounded memory, progress, cancellation and errors leave nothing behind."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.engine import run_workflow
from daisy_widgets.core.errors import Cancelled
from daisy_widgets.core.progress import CancelToken
from daisy_widgets.tomography.io import read_recon, read_scan
from daisy_widgets.tomography.pipeline import ReconOptions, build_workflow, run_reconstruction
from daisy_widgets.tomography.stream import QUEUE_BLOCKS, stream_reason


def _whole_array(scan_path, opts: ReconOptions, rows: slice) -> tuple[np.ndarray, float]:
    """The chain as a workflow over all selected rows at once (the path that is not streamed)."""
    scan = read_scan(scan_path)
    store = DataStore(
        {
            "raw/projections": np.asarray(scan.projections[:, rows, :]),
            "raw/flats": np.asarray(scan.flats[:, rows, :]),
            "raw/darks": np.asarray(scan.darks[:, rows, :]),
            "raw/theta": np.asarray(scan.theta, np.float64),
        }
    )
    out = run_workflow(build_workflow(opts), store)
    center = float(out["out/center"]) if "out/center" in out else float(opts.center)
    return np.asarray(out["out/recon"]), center


@pytest.mark.parametrize(
    ("algorithm", "center", "stripe"), [("gridrec", "auto", "none"), ("fbp", 66.0, "sorting")]
)
def test_streamed_volume_equals_whole_array_workflow(sample_scan, tmp_path, algorithm, center, stripe):
    opts = ReconOptions(center=center, algorithm=algorithm, filter="hann", stripe=stripe, block=3)
    assert stream_reason(opts, None, None, "hdf5") is None
    events = []
    info = run_reconstruction(sample_scan, tmp_path / "vol.h5", opts, slices="0:8", progress=events.append)
    want, want_center = _whole_array(sample_scan, opts, slice(0, 8))
    got, attrs = read_recon(tmp_path / "vol.h5")
    assert info["stream"].blocks == 3 and info["shape"] == (8, 128, 128)  # 3 + 3 + 2 rows
    assert info["center"] == pytest.approx(want_center, abs=1e-6)
    assert float(attrs["center"]) == pytest.approx(want_center, abs=1e-6)
    np.testing.assert_allclose(got, want, atol=1e-5 * float(np.abs(want).max()))
    assert [e.chunks_done for e in events] == [1, 2, 3] and events[-1].fraction == 1.0
    with h5py.File(tmp_path / "vol.h5") as f:  # the file is what write_recon writes
        assert f["exchange/data"].attrs["first_slice"] == 0 and "provenance" in f
        assert f["exchange"].attrs["algorithm"] == algorithm


def test_stream_memory_is_bounded_by_the_block(sample_scan, tmp_path):
    opts = ReconOptions(center=66.0, algorithm="gridrec", block=2)
    info = run_reconstruction(sample_scan, tmp_path / "vol.h5", opts)
    st = info["stream"]
    # one block of counts (projections, flats, darks as float32) and of slices
    scan = read_scan(sample_scan)
    per_block = 2 * 4 * 128 * (scan.shape[0] + scan.flats.shape[0] + scan.darks.shape[0] + 128)
    assert st.blocks == 4 and st.slices == 8
    assert 0 < st.peak_queued_bytes <= (2 * QUEUE_BLOCKS + 2) * per_block
    assert st.bytes_written == 8 * 128 * 128 * 4 and st.bytes_read > 0
    rates = st.rates()
    assert rates["slices_s"] > 0 and rates["read_MB_s"] > 0 and rates["written_MB_s"] > 0


def test_cancel_and_failure_leave_no_output(sample_scan, tmp_path, monkeypatch):
    from daisy_widgets.tomography.io import Scan

    token = CancelToken()

    def cancel_on_second(event):
        token.cancel()

    out = tmp_path / "vol.h5"
    opts = ReconOptions(center=66.0, block=2)
    with pytest.raises(Cancelled):
        run_reconstruction(sample_scan, out, opts, progress=cancel_on_second, cancel=token)
    assert not out.exists() and not list(tmp_path.glob(".vol.h5.*"))

    real = Scan.block
    calls = {"n": 0}

    def failing_block(self, rows=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk went away")
        return real(self, rows)

    monkeypatch.setattr(Scan, "block", failing_block)
    with pytest.raises(OSError, match="disk went away"):
        run_reconstruction(sample_scan, out, opts)
    assert not out.exists() and not list(tmp_path.glob(".vol.h5.*"))


def test_chains_that_filter_across_rows_are_not_streamed():
    assert "across detector rows" in stream_reason(ReconOptions(zingers=True), None, None, "hdf5")
    assert "across detector rows" in stream_reason(ReconOptions(phase=True), None, None, "hdf5")
    assert "all rows" in stream_reason(ReconOptions(align=True), None, None, "hdf5")
    assert "Dask" in stream_reason(ReconOptions(), "dask", None, "hdf5")
    assert "tiff" in stream_reason(ReconOptions(), None, None, "tiff")
