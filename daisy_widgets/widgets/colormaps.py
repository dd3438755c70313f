"""Colour maps and PNG encoding for image widgets (numpy and zlib only).

Images travel to the browser as small PNGs (one message, any size): a float
image is windowed to [lo, hi], mapped through a 256-entry colour table and
encoded here, without matplotlib or Pillow.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

# anchor colours (0..1 positions, RGB 0..255), interpolated to 256 entries
_ANCHORS: dict[str, list[tuple[float, tuple[int, int, int]]]] = {
    "gray": [(0.0, (0, 0, 0)), (1.0, (255, 255, 255))],
    "viridis": [
        (0.0, (68, 1, 84)),
        (0.13, (71, 44, 122)),
        (0.25, (59, 81, 139)),
        (0.38, (44, 113, 142)),
        (0.5, (33, 144, 141)),
        (0.63, (39, 173, 129)),
        (0.75, (92, 200, 99)),
        (0.88, (170, 220, 50)),
        (1.0, (253, 231, 37)),
    ],
    "magma": [
        (0.0, (0, 0, 4)),
        (0.13, (28, 16, 68)),
        (0.25, (79, 18, 123)),
        (0.38, (129, 37, 129)),
        (0.5, (181, 54, 122)),
        (0.63, (229, 80, 100)),
        (0.75, (251, 135, 97)),
        (0.88, (254, 194, 135)),
        (1.0, (252, 253, 191)),
    ],
    "inverted": [(0.0, (255, 255, 255)), (1.0, (0, 0, 0))],
}
COLORMAPS = tuple(_ANCHORS)


def colormap_table(name: str) -> np.ndarray:
    """(256, 3) uint8 colour table of ``name`` (one of :data:`COLORMAPS`)."""
    if name not in _ANCHORS:
        raise ValueError(f"unknown colour map {name!r}: expected one of {', '.join(COLORMAPS)}")
    pos = np.array([a[0] for a in _ANCHORS[name]])
    rgb = np.array([a[1] for a in _ANCHORS[name]], float)
    x = np.linspace(0, 1, 256)
    return np.stack([np.interp(x, pos, rgb[:, k]) for k in range(3)], axis=1).round().astype(np.uint8)


def percentile_window(image: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """Display window: the ``low`` and ``high`` percentiles of the finite values (hi > lo always)."""
    v = np.asarray(image, np.float64).ravel()
    if v.size > 1_000_000:  # a strided sample is enough for a window
        v = v[:: v.size // 1_000_000]
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(v, [low, high])
    if not hi > lo:
        hi = lo + (abs(lo) * 1e-3 or 1.0)
    return float(lo), float(hi)


def to_rgb(image: np.ndarray, lo: float, hi: float, cmap: str = "gray") -> np.ndarray:
    """Window a 2-D float image to [lo, hi] and map it: (rows, cols, 3) uint8. NaN shows as the low colour."""
    a = np.asarray(image, np.float32)
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    idx = np.nan_to_num((a - lo) * scale, nan=0.0, posinf=255.0, neginf=0.0)
    idx = np.clip(idx, 0, 255).astype(np.uint8)
    return colormap_table(cmap)[idx]


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode (rows, cols, 3) or (rows, cols) uint8 as PNG bytes."""
    a = np.ascontiguousarray(rgb, np.uint8)
    if a.ndim == 2:
        color_type, a3 = 0, a[:, :, None]
    else:
        color_type, a3 = 2, a
    h, w, c = a3.shape
    raw = np.zeros((h, 1 + w * c), np.uint8)  # filter byte 0 per row
    raw[:, 1:] = a3.reshape(h, w * c)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 1))
        + chunk(b"IEND", b"")
    )


def image_png(
    image: np.ndarray, lo: float, hi: float, cmap: str = "gray", max_size: int | None = None
) -> bytes:
    """PNG of a float image windowed to [lo, hi]; strided down so neither side exceeds ``max_size``."""
    a = np.asarray(image)
    if max_size:
        step = int(np.ceil(max(a.shape[:2]) / max_size))
        if step > 1:
            a = a[::step, ::step]
    return encode_png(to_rgb(a, lo, hi, cmap))
