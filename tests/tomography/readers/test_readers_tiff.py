"""TIFF frames: every pixel type, byte order and compression read back exactly, lazily, rows only."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.core.errors import InputFileError
from daisy_widgets.tomography.io import tiff

tifffile = pytest.importorskip("tifffile")


@pytest.mark.parametrize(
    ("dtype", "kw"),
    [
        (np.uint8, {}),
        (np.uint16, {}),
        (np.uint32, {}),
        (np.int16, {}),
        (np.int32, {}),
        (np.float32, {}),
        (np.float64, {}),
        (np.uint16, {"byteorder": ">"}),
        (np.uint16, {"compression": "zlib"}),
        (np.float32, {"tile": (16, 16)}),
    ],
)
def test_pixel_types_byte_orders_compression(tmp_path, dtype, kw):
    rng = np.random.default_rng(1)
    frames = (rng.random((5, 24, 40)) * 200).astype(dtype)
    files = []
    for k, frame in enumerate(frames):
        files.append(str(tmp_path / f"p_{k * 5}.tif"))
        tifffile.imwrite(files[-1], frame, **kw)
    arr = tiff.tiff_frames(tiff.expand(str(tmp_path)))
    assert arr.dtype == dtype and arr.shape == (5, 24, 40)
    np.testing.assert_array_equal(arr.compute(), frames)
    np.testing.assert_array_equal(arr[:, 3:7, 5:9].compute(), frames[:, 3:7, 5:9])
    np.testing.assert_array_equal(arr[2].compute(), frames[2])
    np.testing.assert_array_equal(arr[1:4, 10].compute(), frames[1:4, 10])
    src = tiff.TiffFrames(files)
    plain = not kw or kw == {}
    assert all((r.offset >= 0) == plain for r in src.pages)  # uncompressed little-endian: rows read directly


def test_rows_only_are_read_from_uncompressed_pages(tmp_path, monkeypatch):
    frame = np.arange(64 * 32, dtype=np.uint16).reshape(64, 32)
    for k in range(3):
        tifffile.imwrite(tmp_path / f"p_{k}.tif", frame + k)
    arr = tiff.tiff_frames(tiff.expand(str(tmp_path)))
    asked = []
    real = tiff.os.preadv

    def spy(fd, buffers, offset):
        asked.append(sum(memoryview(b).nbytes for b in buffers))
        return real(fd, buffers, offset)

    monkeypatch.setattr(tiff.os, "preadv", spy)
    np.testing.assert_array_equal(arr[:, 10:12].compute()[1], frame[10:12] + 1)
    assert asked == [2 * 32 * 2] * 3  # two rows of each file, not the frame


def test_natural_order_and_series(tmp_path):
    for name in ("scan_10.tif", "scan_9.tif", "scan_100.tif", "flat_1.tif", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    files = [p.rsplit("/", 1)[-1] for p in tiff.expand(str(tmp_path))]
    assert files == ["flat_1.tif", "scan_9.tif", "scan_10.tif", "scan_100.tif"]
    groups = tiff.series_groups(tiff.expand(str(tmp_path)))
    assert list(groups) == ["scan_*.tif", "flat_*.tif"]


def test_rgb_and_mixed_types_refused(tmp_path):
    tifffile.imwrite(tmp_path / "a_0.tif", np.zeros((8, 8), np.uint16))
    tifffile.imwrite(tmp_path / "a_1.tif", np.zeros((8, 8), np.float32))
    with pytest.raises(InputFileError) as e:
        tiff.TiffFrames(tiff.expand(str(tmp_path)))
    assert e.value.path.endswith("a_1.tif") and "uint16" in e.value.expected and "float32" in e.value.found
    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    with pytest.raises(InputFileError, match="2-D single-sample"):
        tiff.TiffFrames([str(rgb)])
