"""The ZeroMQ source: the same frames and the same live reconstruction as the SWMR file source."""

from __future__ import annotations

import socket
import threading

import numpy as np
import pytest

from daisy_widgets.tomography.io.swmr_writer import PhantomDetector
from daisy_widgets.tomography.live import LiveReconstruction, LiveScanError, ZmqFrameSource, stream_frames
from daisy_widgets.tomography.preprocess import minus_log, normalize
from daisy_widgets.tomography.recon import reconstruct


def _address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def _frames(det: PhantomDetector, flats=3, darks=2):
    for kind, n in (("dark", darks), ("flat", flats), ("projection", det.angles)):
        for k in range(n):
            yield kind, k, det.frame(kind, k), det.theta_deg[k] if kind == "projection" else None


def _start(address, frames, det, rate=200.0):
    start = {
        "frames_expected": det.angles,
        "flats_expected": 3,
        "darks_expected": 2,
        "shape": [det.rows, det.width],
        "angle_range": 180.0,
    }
    t = threading.Thread(target=stream_frames, args=(address, frames, start, rate), daemon=True)
    t.start()
    return t


def test_stream_reconstructs_like_the_offline_chain(compiled):
    det = PhantomDetector(width=96, rows=3, angles=60, center_offset=1.5)
    address = _address()
    source = ZmqFrameSource(address, stall_timeout=20)
    sender = _start(address, _frames(det), det)
    updates = []
    live = LiveReconstruction(source, center=det.center, on_update=lambda s: updates.append(s.frames))
    st = live.run()
    sender.join(10)
    assert st.state == "complete" and st.frames == 60 and st.darks == 2 and st.flats == 3
    assert len(set(updates)) > 1
    proj = np.stack([det.frame("projection", k) for k in range(60)])
    flats = np.stack([det.frame("flat", k) for k in range(3)])
    darks = np.stack([det.frame("dark", k) for k in range(2)])
    sino = minus_log(normalize(proj, flats, darks)).transpose(1, 0, 2)
    np.testing.assert_array_equal(live.sinos.sinograms(), sino)
    final, c = live.final_slices()
    np.testing.assert_array_equal(final, reconstruct(sino, np.deg2rad(det.theta_deg), det.center))
    assert c == det.center


def test_stream_frame_of_another_shape_is_refused(compiled):
    det = PhantomDetector(width=32, rows=2, angles=10)

    def frames():
        for i, item in enumerate(_frames(det)):
            if i == 8:  # the third projection comes wider
                yield "projection", 3, np.zeros((2, 40), np.uint16), 3.0
                return
            yield item

    address = _address()
    source = ZmqFrameSource(address, stall_timeout=20)
    sender = _start(address, frames(), det, rate=0)
    live = LiveReconstruction(source, center=15.5)
    with pytest.raises(LiveScanError) as e:
        live.run()
    sender.join(10)
    assert "has shape (2, 40); the scan's frames are (2, 32)" in str(e.value) and address in str(e.value)
    assert live.sinos.n == 3 and live.status.state == "failed"
