"""Opening a TIFF series: files whose bytes outside the image data equal a parsed file's are not
parsed again, with the same pages, frames and errors as parsing every file."""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.core.errors import InputFileError
from daisy_widgets.tomography.io import tiff
from daisy_widgets.tomography.io.tiff import TiffFrames, scan_pages


def _series(folder, n=12, shape=(6, 10), dtype=np.uint16, seed=0):
    import tifffile

    folder.mkdir()
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 4000, (n, *shape)).astype(dtype)
    files = []
    for i, frame in enumerate(frames):
        files.append(str(folder / f"p_{i:03d}.tif"))
        tifffile.imwrite(files[-1], frame)
    return files, frames


def _parse_every_file(monkeypatch):
    monkeypatch.setattr(tiff._SameHeader, "of", classmethod(lambda cls, *a: None))


def test_same_pages_and_frames_as_parsing_every_file(tmp_path, monkeypatch):
    files, frames = _series(tmp_path / "s")
    matched = []
    real = tiff._SameHeader.matches
    monkeypatch.setattr(
        tiff._SameHeader, "matches", lambda self, *a: matched.append(real(self, *a)) or matched[-1]
    )
    fast = scan_pages(files)
    assert matched == [True] * (len(files) - 1)  # only the first file was parsed
    monkeypatch.undo()
    _parse_every_file(monkeypatch)
    assert scan_pages(files) == fast
    monkeypatch.undo()
    np.testing.assert_array_equal(TiffFrames(files)[:, 2:5], frames[:, 2:5])
    np.testing.assert_array_equal(TiffFrames(files)[3], frames[3])


def test_a_different_file_in_the_series_is_parsed_and_refused(tmp_path):
    import tifffile

    files, frames = _series(tmp_path / "s")
    tifffile.imwrite(files[5], frames[5].astype(np.int16))  # same size, another type
    with pytest.raises(InputFileError) as e:
        scan_pages(files)
    assert e.value.path == files[5] and "uint16" in e.value.expected

    files, frames = _series(tmp_path / "t")
    tifffile.imwrite(files[7], frames[7][:, :9])  # another shape
    with pytest.raises(InputFileError) as e:
        scan_pages(files)
    assert e.value.path == files[7] and "(6, 10)" in e.value.expected

    files, _ = _series(tmp_path / "u")
    with open(files[9], "r+b") as f:  # truncated in its data
        f.truncate(200)
    with pytest.raises(InputFileError) as e:
        scan_pages(files)
    assert e.value.path == files[9]


def test_a_changed_description_of_the_same_size_is_parsed_again(tmp_path, monkeypatch):
    import os

    import tifffile

    files, frames = _series(tmp_path / "s", n=4)
    size = os.path.getsize(files[2])
    with tifffile.TiffFile(files[2]) as tif:
        software = tif.pages[0].tags["Software"]
        at, text = software.valueoffset, software.value
    with open(files[2], "r+b") as f:  # another Software string of the same length
        f.seek(at)
        f.write(text[::-1].encode())
    assert os.path.getsize(files[2]) == size and text != text[::-1]
    matched = []
    real = tiff._SameHeader.matches
    monkeypatch.setattr(
        tiff._SameHeader, "matches", lambda self, *a: matched.append(real(self, *a)) or matched[-1]
    )
    ref, shape, _ = scan_pages(files)
    assert matched == [True, False, True] and shape == (6, 10)
    assert [r.file for r in ref] == files and all(r.offset >= 0 for r in ref)
    np.testing.assert_array_equal(TiffFrames(files)[:, 1:3], frames[:, 1:3])
