"""A scan written by ``daisy tomo acquire`` in one process, followed here: every frame once, in order, whole;
the final live slice equals the offline reconstruction of the finished file."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.tomography.io import read_scan
from daisy_widgets.tomography.live import LiveReconstruction, SwmrFileSource
from daisy_widgets.tomography.phantom import phantom_slices
from daisy_widgets.tomography.preprocess import minus_log, normalize
from daisy_widgets.tomography.recon import reconstruct

SMALL = ("--width", "128", "--rows", "4", "--flats", "4", "--darks", "2", "--center-offset", "2.5")


def _same_fbp(a, b):
    """Equal to float32 rounding; a rare pixel may take the neighbouring upsampled sample."""
    m = float(np.abs(b).max())
    d = np.abs(a - b)
    assert d.max() < 1e-2 * m, d.max() / m
    assert np.mean(d < 1e-5 * m) > 0.999


def _follow(path, **kw):
    src = SwmrFileSource(path, stall_timeout=20, wait=20, **kw)
    seen = []
    try:
        while src.state not in ("complete", "stopped", "stalled", "failed"):
            for b in src.poll():
                seen.append(b)
    finally:
        src.close()
    return src, seen


def test_every_frame_once_in_order_and_whole(tmp_path, acquire):
    path = tmp_path / "scan.h5"
    proc = acquire(path, *SMALL, "--angles", "120", "--rate", "40")  # written over 3 s
    src, blocks = _follow(path)
    assert proc.wait(30) == 0, proc.stderr.read()
    assert src.state == "complete", src.message
    # blocks come in order, each frame once, darks then flats then projections
    order = [(b.kind, b.first + i) for b in blocks for i in range(len(b))]
    expected = (
        [("dark", k) for k in range(2)]
        + [("flat", k) for k in range(4)]
        + [("projection", k) for k in range(120)]
    )
    assert order == expected
    assert len(blocks) > 3  # followed while growing, not read at the end in one go
    # not torn: every frame equals the finished file's frame, bit for bit
    import h5py

    with h5py.File(path, "r") as f:
        files = {
            "dark": f["/exchange/data_dark"][()],
            "flat": f["/exchange/data_white"][()],
            "projection": f["/exchange/data"][()],
        }
        theta = f["/exchange/theta"][()]
        assert int(f["/exchange/scan_complete"][0]) == 1
    for b in blocks:
        np.testing.assert_array_equal(b.frames, files[b.kind][b.first : b.first + len(b)])
        if b.kind == "projection":
            np.testing.assert_array_equal(b.theta_deg, theta[b.first : b.first + len(b)])
            assert b.written is not None and np.all(np.diff(b.written) >= 0)


def test_final_live_slice_equals_offline_reconstruction(tmp_path, acquire):
    path = tmp_path / "scan.h5"
    proc = acquire(path, *SMALL, "--angles", "90", "--rate", "60")
    updates = []
    live = LiveReconstruction(
        SwmrFileSource(path, stall_timeout=20, wait=20), on_update=lambda s: updates.append(s.frames)
    )
    st = live.run()
    assert proc.wait(30) == 0
    assert st.state == "complete" and st.frames == 90
    assert len(set(updates)) > 2  # the preview was updated while the scan grew
    # the offline chain on the finished file: normalise, minus-log, reconstruct
    scan = read_scan(path)
    b = scan.block(slice(0, 4))
    sino = minus_log(normalize(b["projections"], b["flats"], b.get("darks"))).transpose(1, 0, 2)
    np.testing.assert_array_equal(live.sinos.sinograms(), sino)
    final, center = live.final_slices()
    assert abs(center - (127 / 2 + 2.5)) < 0.5  # the centre found live, against the true axis
    offline = reconstruct(sino, np.deg2rad(scan.theta), center)
    np.testing.assert_array_equal(final, offline)
    # the incremental preview (sector images) at the end is the same FBP to float rounding
    _same_fbp(st.preview, offline[live.preview_row])


def test_partial_arc_weights_of_a_360_degree_scan(tmp_path, acquire):
    """Angles seen twice count once: the finished 360° preview equals the offline FBP (pi/K per angle)."""
    path = tmp_path / "scan.h5"
    proc = acquire(path, *SMALL, "--angles", "120", "--range", "360", "--rate", "0")
    live = LiveReconstruction(SwmrFileSource(path, stall_timeout=20, wait=20), center=66.0)
    st = live.run()
    assert proc.wait(30) == 0 and st.state == "complete"
    offline = reconstruct(live.sinos.sinograms()[live.preview_row], np.deg2rad(live.sinos.theta_deg), 66.0)
    _same_fbp(st.preview, offline)


def test_preview_sharpens_as_frames_arrive(tmp_path, acquire):
    path = tmp_path / "scan.h5"
    proc = acquire(path, *SMALL, "--angles", "180", "--rate", "300", "--center-offset", "0")
    snaps = {}

    def keep(st):
        for arc in (45, 180):
            if st.arc >= arc and arc not in snaps:
                snaps[arc] = st.preview.copy()

    live = LiveReconstruction(SwmrFileSource(path, stall_timeout=20, wait=20), center=63.5, on_update=keep)
    live.run()
    assert proc.wait(30) == 0
    truth = phantom_slices(128, [int(128 // 2 - 2 + live.preview_row)], 128, 2.0 / 128)[0]
    err = {a: float(np.sqrt(np.mean((im - truth) ** 2))) for a, im in snaps.items()}
    assert err[180] < 0.6 * err[45], err


@pytest.mark.parametrize("rows", [slice(1, 3)])
def test_rows_subset(tmp_path, acquire, rows):
    path = tmp_path / "scan.h5"
    proc = acquire(path, *SMALL, "--angles", "30", "--rate", "0")
    src, blocks = _follow(path, rows=rows)
    assert proc.wait(30) == 0
    assert all(b.frames.shape[1:] == (2, 128) for b in blocks)
