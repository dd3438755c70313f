"""TIFF frames, read lazily: a folder, a glob, or one multi-page file, in the order of the numbers in the names.

Every page's header is checked when the stack is opened (2-D, one sample per
pixel, 8/16/32-bit integer or float, the same shape and type throughout, its
data inside the file), so a bad page is refused before any work starts, with
the file and page named. Reading is lazy (:func:`tiff_frames` gives a dask
array); an uncompressed page is read for the requested rows only (one
``pread`` of those bytes), a compressed one is decoded whole by ``tifffile``.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...core.errors import InputFileError

TIFF_SUFFIXES = (".tif", ".tiff")
#: dask block size of a TIFF stack (bytes): whole frames, grouped up to this
BLOCK_BYTES = 32 * 2**20


def natural_key(path: str) -> tuple:
    """Sort key: the name with its numbers compared as numbers (``p_9.tif`` before ``p_10.tif``)."""
    name = os.path.basename(path)
    parts = re.split(r"(\d+)", name)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts)


def name_prefix(path: str) -> str:
    """A file's name with its digits removed: files of one series share it (``proj_*.tif``)."""
    return re.sub(r"\d+", "*", os.path.basename(path))


def is_tiff_name(path: str) -> bool:
    return path.lower().endswith(TIFF_SUFFIXES)


def expand(spec: str, base_dirs: Sequence[str | os.PathLike] = ()) -> list[str]:
    """Files named by ``spec``: a folder (its TIFFs), a glob, or a file; relative specs are tried
    from the working folder, then from each of ``base_dirs``. Sorted by the numbers in the names."""
    tries = [spec] if os.path.isabs(spec) else [spec] + [os.path.join(os.fspath(b), spec) for b in base_dirs]
    for s in tries:
        if os.path.isdir(s):
            files = [os.path.join(s, n) for n in os.listdir(s) if is_tiff_name(n)]
        elif glob.has_magic(s):
            files = [f for f in glob.glob(s) if os.path.isfile(f)]
        elif os.path.isfile(s):
            files = [s]
        else:
            continue
        if files:
            return sorted((os.path.abspath(f) for f in files), key=natural_key)
    return []


def series_groups(files: Sequence[str]) -> dict[str, list[str]]:
    """Files grouped by :func:`name_prefix`, largest group first."""
    groups: dict[str, list[str]] = {}
    for f in files:
        groups.setdefault(name_prefix(f), []).append(f)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


@dataclass(frozen=True)
class PageRef:
    """Where one frame is: file, page index, and (uncompressed pages) the byte offset of its data."""

    file: str
    page: int
    offset: int  # -1 when the page is compressed or not contiguous


def scan_pages(files: Sequence[str], option: str = "projections") -> tuple[list[PageRef], tuple, np.dtype]:
    """Check every page of ``files`` and return (pages in order, frame shape, dtype).

    Raises
    ------
    InputFileError
        Naming the file and the page: unreadable TIFF, data beyond the end of the
        file, not 2-D single-sample, an unsupported type, or a shape/type unlike the first page.

    Notes
    -----
    A series of single-page files written alike differs only in the image data: a file whose
    bytes outside the data are those of a file already parsed (:class:`_SameHeader`) has the
    same page, so it is not parsed again (parsing costs about 1 ms a file; the comparison,
    one small read).
    """
    import tifffile

    refs: list[PageRef] = []
    shape: tuple | None = None
    dtype: np.dtype | None = None
    first = ""
    same: _SameHeader | None = None
    for path in files:
        try:
            size = os.path.getsize(path)
            if same is not None and same.matches(path, size):
                refs.append(PageRef(path, 0, same.data_start))
                continue
            with _TiffLog() as log, tifffile.TiffFile(path) as tif:
                pages = list(tif.pages)
                order = tif.byteorder
                if log.messages:  # tifffile stops at a broken page and only logs it
                    raise InputFileError(
                        path, f"page {len(pages)}", "a readable TIFF page", f"{log.messages[0]} (truncated?)"
                    )
                if not pages:
                    raise InputFileError(path, "page 0", "a TIFF with at least one page", "no pages")
                shaped = (
                    tif.shaped_metadata[0].get("shape") if tif.is_shaped and tif.shaped_metadata else None
                )
                per_page = int(np.prod(pages[0].shape)) or 1
                n_expected = int(np.prod(shaped)) // per_page if shaped else len(pages)
                if n_expected != len(pages):
                    raise InputFileError(
                        path,
                        f"page {len(pages)}",
                        f"{n_expected} pages (the file's shape {tuple(shaped or ())})",
                        f"{len(pages)} readable page(s) (truncated?)",
                    )
                for i, page in enumerate(pages):
                    where = f"page {i}"
                    pshape = tuple(page.shape)
                    pdtype = np.dtype(page.dtype) if page.dtype is not None else None
                    if len(pshape) != 2 or pdtype is None:
                        raise InputFileError(
                            path, where, "a 2-D single-sample image (grey levels)", f"shape {pshape}"
                        )
                    if pdtype.kind not in "uif" or pdtype.itemsize > 8:
                        raise InputFileError(path, where, "8/16/32-bit integer or float pixels", f"{pdtype}")
                    ends = [
                        int(o) + int(c) for o, c in zip(page.dataoffsets, page.databytecounts, strict=False)
                    ]
                    if not ends or max(ends) > size:
                        raise InputFileError(
                            path,
                            where,
                            "image data inside the file",
                            f"data up to byte {max(ends) if ends else '?'} of a {size}-byte file (truncated?)",
                        )
                    if shape is None:
                        shape, dtype, first = pshape, pdtype, f"{path} page {i}"
                    elif pshape != shape:
                        raise InputFileError(
                            path, where, f"frames of shape {shape} like {first}", f"shape {pshape}"
                        )
                    elif pdtype != dtype:
                        raise InputFileError(path, where, f"pixels of type {dtype} like {first}", f"{pdtype}")
                    mm = page.is_memmappable and page.compression == 1 and len(page.dataoffsets) == 1
                    if mm and order != "<" and pdtype.itemsize > 1:
                        mm = False  # big-endian: decode through tifffile
                    refs.append(PageRef(path, i, int(page.dataoffsets[0]) if mm else -1))
                if same is None and len(pages) == 1 and refs[-1].offset >= 0:
                    same = _SameHeader.of(path, size, tif, pages[0])
        except InputFileError:
            raise
        except Exception as exc:  # tifffile.TiffFileError, struct errors, OSError
            raise InputFileError(
                path, "", f"a readable TIFF ({option})", f"{type(exc).__name__}: {exc}"
            ) from None
    if shape is None or dtype is None:
        raise InputFileError(", ".join(files) or option, "", f"TIFF files ({option})", "none")
    return refs, shape, dtype


@dataclass(frozen=True)
class _SameHeader:
    """The bytes of a parsed single-page, uncompressed file outside its image data.

    Another file of the same size with the same bytes there parses to the same page (same
    shape, type and data offset): everything ``tifffile`` reads (header, directory, tag
    values) lies outside the data, which :meth:`of` checks before it is used.
    """

    size: int
    data_start: int
    data_end: int
    head: bytes
    tail: bytes

    @classmethod
    def of(cls, path: str, size: int, tif: Any, page: Any) -> _SameHeader | None:
        start = int(page.dataoffsets[0])
        end = start + int(page.databytecounts[0])
        entry, pointer = (20, 8) if tif.is_bigtiff else (12, 4)
        read = [(0, 16 if tif.is_bigtiff else 8)]  # what tifffile reads: header, directory, values
        read.append((int(page.offset), int(page.offset) + pointer + len(page.tags) * entry + pointer))
        read += [(int(t.valueoffset), int(t.valueoffset) + int(t.valuebytecount)) for t in page.tags.values()]
        if any(a < end and b > start for a, b in read) or end > size:
            return None
        with open(path, "rb") as f:
            head = f.read(start)
            f.seek(end)
            tail = f.read()
        return cls(size, start, end, head, tail)

    def matches(self, path: str, size: int) -> bool:
        if size != self.size:
            return False
        fd = os.open(path, os.O_RDONLY)
        try:
            if os.pread(fd, len(self.head), 0) != self.head:
                return False
            return not self.tail or os.pread(fd, len(self.tail), self.data_end) == self.tail
        finally:
            os.close(fd)


class _TiffLog:
    """Collect what ``tifffile`` logs (warnings and errors) while a file is parsed."""

    def __enter__(self) -> _TiffLog:
        import logging

        self.messages: list[str] = []
        outer = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                outer.messages.append(record.getMessage())

        self.handler = _Handler(logging.WARNING)
        self.logger = logging.getLogger("tifffile")
        self.logger.addHandler(self.handler)
        self.propagate, self.logger.propagate = self.logger.propagate, False
        return self

    def __exit__(self, *exc: Any) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.propagate = self.propagate


class TiffFrames:
    """Array-like ``(frames, rows, columns)`` over TIFF pages, for ``dask.array.from_array`` (picklable).

    Parameters
    ----------
    files
        TIFF files in frame order (each page of each file is one frame).
    option
        What the frames are (for messages): ``"projections"``, ``"--flats"``, ...
    """

    def __init__(self, files: Sequence[str], option: str = "projections"):
        self.files = [os.path.abspath(f) for f in files]
        self.option = option
        self.pages, frame, self.dtype = scan_pages(self.files, option)
        self.shape = (len(self.pages), *frame)
        self.ndim = 3
        self.multi = {f: 0 for f in self.files}
        for r in self.pages:
            self.multi[r.file] += 1

    def _fail(self, ref: PageRef, exc: BaseException) -> InputFileError:
        return InputFileError(
            ref.file,
            f"page {ref.page}",
            f"a readable TIFF page ({self.option})",
            f"{type(exc).__name__}: {exc}",
        )

    def _read_into(self, ref: PageRef, a: int, b: int, out: np.ndarray) -> None:
        """Rows ``a:b`` of an uncompressed page straight into ``out`` (one ``preadv``, no copy)."""
        n_cols = self.shape[2]
        item = self.dtype.itemsize
        want = (b - a) * n_cols * item
        try:
            fd = os.open(ref.file, os.O_RDONLY)
            try:
                got = os.preadv(fd, [memoryview(out).cast("B")], ref.offset + a * n_cols * item)
            finally:
                os.close(fd)
            if got != want:
                raise OSError(f"read {got} of {want} bytes (file truncated?)")
        except OSError as exc:
            raise self._fail(ref, exc) from None

    def _decode(self, ref: PageRef) -> np.ndarray:
        import tifffile

        try:
            with tifffile.TiffFile(ref.file) as tif:
                return tif.pages[ref.page].asarray()
        except Exception as exc:
            raise self._fail(ref, exc) from None

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (3 - len(key))
        k0, k1, k2 = key
        idx = np.atleast_1d(np.arange(self.shape[0])[k0])
        scalar = np.ndim(np.arange(self.shape[0])[k0]) == 0
        if isinstance(k1, slice):
            a, b, step = k1.indices(self.shape[1])
            b = max(a, b)
        else:
            step = 0
        if step == 1:  # a row range: uncompressed pages read only those rows, into one array
            out = np.empty((idx.size, b - a, self.shape[2]), self.dtype)
            for n, i in enumerate(idx):
                ref = self.pages[int(i)]
                if ref.offset >= 0:
                    self._read_into(ref, a, b, out[n])
                else:
                    out[n] = self._decode(ref)[a:b]
            arr = out[..., k2] if k2 != slice(None) else out
        else:
            frames = [self._decode(self.pages[int(i)])[k1][..., k2] for i in idx]
            arr = np.stack(frames) if frames else np.empty((0, *self.shape[1:]), self.dtype)[:, k1, k2]
        return arr[0] if scalar else arr

    def __repr__(self) -> str:
        return f"TiffFrames({len(self.files)} file(s), shape={self.shape}, dtype={self.dtype})"


def tiff_frames(files: Sequence[str], option: str = "projections") -> Any:
    """A dask array ``(frames, rows, columns)`` over the pages of ``files`` (checked first, read lazily)."""
    import dask.array as da

    src = TiffFrames(files, option)
    frame_bytes = int(np.prod(src.shape[1:])) * src.dtype.itemsize
    per_block = int(max(1, min(src.shape[0], BLOCK_BYTES // max(frame_bytes, 1))))
    token = ",".join(f"{f}:{os.stat(f).st_mtime_ns}" for f in src.files[:1] + src.files[-1:])
    return da.from_array(
        src,
        chunks=(per_block, src.shape[1], src.shape[2]),
        name=f"tiff-{da.core.tokenize(token, len(src.files), src.shape)}",
        lock=False,
        asarray=True,
        meta=np.empty((0, 0, 0), src.dtype),
    )
