"""Generic viewer widgets: PNG/colour maps, image view, contrast, volume view, file browser, debounced runner."""

from __future__ import annotations

import struct
import threading
import time
import zlib

import numpy as np
import pytest

from daisy_widgets.core.errors import Cancelled
from daisy_widgets.widgets.colormaps import encode_png, image_png, to_rgb
from daisy_widgets.widgets.contrast import ContrastControl
from daisy_widgets.widgets.debounce import DebouncedRunner
from daisy_widgets.widgets.file_browser import FileBrowser
from daisy_widgets.widgets.image_view import ImageView
from daisy_widgets.widgets.volume_view import VolumeView, downsample


def _decode_png(data: bytes) -> np.ndarray:
    """Minimal independent PNG decoder (8-bit RGB or grey, filter 0 rows as written by encode_png)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n = struct.unpack(">I", data[pos : pos + 4])[0]
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        assert zlib.crc32(tag + body) & 0xFFFFFFFF == struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0]
        if tag == b"IHDR":
            w, h, _, ct = struct.unpack(">IIBB", body[:10])
            c = 3 if ct == 2 else 1
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * c)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(h, w, c)


def test_png_round_trip_and_window():
    img = np.linspace(-1, 2, 40 * 30, dtype=np.float32).reshape(30, 40)
    rgb = _decode_png(image_png(img, 0.0, 1.0, "gray"))
    assert rgb.shape == (30, 40, 3)
    expected = np.clip(np.round(np.clip(img, 0, 1) * 255), 0, 255)
    assert np.abs(rgb[..., 0].astype(int) - expected).max() <= 1
    assert (_decode_png(encode_png(rgb[..., 0]))[..., 0] == rgb[..., 0]).all()
    assert to_rgb(np.array([[np.nan]]), 0, 1, "viridis").shape == (1, 1, 3)


def test_image_view_stack_slider_and_lazy_frames():
    calls = []
    stack = np.random.default_rng(0).random((5, 20, 30)).astype(np.float32)

    def frame(i):
        calls.append(i)
        return stack[i]

    v = ImageView("t", width=300, height=200)
    v.set_stack(frame=frame, n=5, index=2)
    assert calls == [2] and v.n_frames == 5 and v.slider.max == 4
    v.slider.value = 4
    np.testing.assert_array_equal(v.image, stack[4])
    assert tuple(v.mark.x) == (-0.5, 29.5) and tuple(v.mark.y) == (19.5, -0.5)
    v.set_window(0.2, 0.4)
    rgb = _decode_png(v.png)
    assert (rgb[..., 0][stack[4] < 0.2] == 0).all() and (rgb[..., 0][stack[4] > 0.4] == 255).all()
    with pytest.raises(ValueError):
        v.set_window(1.0, 1.0)


def test_contrast_percentiles_histogram():
    img = np.arange(10000, dtype=np.float32).reshape(100, 100)
    c = ContrastControl(bins=50)
    v = ImageView()
    v.set_image(img)
    c.attach(v, follow=True)
    c.set_percentiles(10, 90)
    assert np.allclose(c.window, np.percentile(img, [10, 90]))
    assert np.allclose(v.window, c.window)
    assert np.isclose((np.asarray(c.bars.y) ** 2).sum(), img.size)  # sqrt counts, all values
    with pytest.raises(ValueError):
        c.set_percentiles(50, 40)


def test_volume_view_slices_and_downsample():
    vol = np.random.default_rng(1).random((12, 40, 50)).astype(np.float32)
    small = downsample(vol, 16)
    assert max(small.shape) <= 16
    assert np.isclose(small[0, 0, 0], vol[:4, :4, :4].mean())
    vv = VolumeView(max_shape=16)
    vv.set_volume(vol)
    vv.coronal.slider.value = 7
    vv.sagittal.slider.value = 9
    np.testing.assert_array_equal(vv.axial.image, vol[6])
    np.testing.assert_array_equal(vv.coronal.image, vol[:, 7, :])
    np.testing.assert_array_equal(vv.sagittal.image, vol[:, :, 9])
    d = np.asarray(vv.volume_mark.data)
    assert d.shape == small.shape and d.min() >= 0 and d.max() <= 1
    vv.contrast.set_percentiles(20, 80)
    assert vv.axial.window == vv.coronal.window == vv.contrast.window
    with pytest.raises(ValueError):
        vv.set_volume(np.zeros((0, 3, 3)))


def test_file_browser(tmp_path):
    (tmp_path / "a.h5").write_bytes(b"x")
    (tmp_path / "b.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.nxs").write_bytes(b"x")
    fb = FileBrowser(tmp_path, extensions=(".h5", ".nxs"))
    assert fb.entries == ["sub/", "a.h5"]
    opened = []
    fb.on_open(opened.append)
    fb.select("a.h5")
    fb.open_button.click()
    assert opened == [str(tmp_path / "a.h5")]
    fb.select("sub/")
    fb.open_button.click()
    assert fb.entries == ["c.nxs"]
    fb.up_button.click()
    fb.up_button.click()
    assert fb.cwd == tmp_path.resolve()
    missing = FileBrowser(tmp_path / "nope")
    assert "not found" in missing.info.value


def test_debounced_runner_delivers_only_the_latest():
    seen, started = [], []

    def work(token, x):
        started.append(x)
        for _ in range(20):
            time.sleep(0.01)
            token.raise_if_cancelled()
        return x * 10

    r = DebouncedRunner(work, delay=0.05, on_result=seen.append)
    for x in range(10):
        r.request(x)
    assert r.wait(10)
    assert seen == [90] and started == [9]  # merged: only the last request ran
    r.request(1)
    time.sleep(0.1)  # running
    r.request(2)  # cancels the running one
    assert r.wait(10)
    time.sleep(0.3)
    assert seen == [90, 20] and r.stale >= 1
    assert r.last_latency is not None and r.last_latency >= 0.05


def test_debounced_runner_errors_and_run_now():
    errors = []

    def work(token, x):
        if x < 0:
            raise ValueError("negative")
        return x

    r = DebouncedRunner(work, delay=0.01, on_error=errors.append)
    r.request(-1)
    assert r.wait(5)
    assert len(errors) == 1 and "negative" in str(errors[0])
    assert r.run_now(3) == 3
    with pytest.raises(ValueError):
        r.run_now(-2)
    r.cancel()
    assert not r.busy and isinstance(threading.current_thread(), threading.Thread)
    assert issubclass(Cancelled, Exception)


def test_debounced_runner_leading_edge_answers_a_single_change_at_once():
    seen, started = [], []

    def work(token, x):
        started.append(x)
        for _ in range(10):
            time.sleep(0.01)
            token.raise_if_cancelled()
        return x

    r = DebouncedRunner(work, delay=0.5, on_result=seen.append, leading=True)
    t = time.monotonic()
    r.request(1)  # idle and quiet: starts without waiting for the 0.5 s timer
    assert r.wait(5)
    assert seen == [1] and time.monotonic() - t < 0.45
    time.sleep(0.55)
    for x in (2, 3, 4):  # a burst: the first starts at once, the rest are merged, the latest wins
        r.request(x)
    assert r.wait(10)
    time.sleep(0.1)
    assert seen == [1, 4] and started[1] == 2 and started[-1] == 4 and 3 not in started
    assert r.stale >= 1
