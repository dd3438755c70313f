"""Thumbnails of the apps for the index's cards, cut from screenshots of the apps themselves.

Each app names its thumbnail in its notebook's metadata (``metadata.daisy.thumbnail``, a path
relative to the apps folder, e.g. ``thumbnails/tomography.png``). The browser test of the
index (``tests/first_hour/test_e2e_first_hour.py``) screenshots each app through the hub; with
``DAISY_UPDATE_THUMBNAILS=1`` it writes the thumbnails from those screenshots. By hand::

    python -m daisy_widgets.app_thumbnails test-artifacts/app-tomography.png apps/thumbnails/tomography.png
"""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

#: size of a thumbnail, px (16:10, what a card shows)
THUMB_SIZE = (400, 250)


def make_thumbnail(screenshot: str | os.PathLike, out: str | os.PathLike, crop_top: int = 0) -> Path:
    """Write a :data:`THUMB_SIZE` PNG of the top of ``screenshot`` (its full width, 16:10), atomically.

    Parameters
    ----------
    screenshot
        A PNG of the app's page (e.g. 1366×768).
    out
        The thumbnail to write.
    crop_top
        Pixels to skip at the top (the page's own header), px.
    """
    from PIL import Image

    img = Image.open(screenshot).convert("RGB")
    w, h = img.size
    want_h = min(h - crop_top, int(w * THUMB_SIZE[1] / THUMB_SIZE[0]))
    img = img.crop((0, crop_top, w, crop_top + want_h)).resize(THUMB_SIZE, Image.LANCZOS)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    img.quantize(colors=128, method=Image.MEDIANCUT).save(tmp, format="PNG", optimize=True)
    os.replace(tmp, out)
    return out


def data_uri(path: str | os.PathLike) -> str | None:
    """``data:image/png;base64,...`` of a PNG (what a card's ``<img>`` shows, with no file server), or None."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    if not raw.startswith(b"\x89PNG"):
        return None
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m daisy_widgets.app_thumbnails SCREENSHOT.png OUT.png", file=sys.stderr)
        return 2
    print(make_thumbnail(args[0], args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
