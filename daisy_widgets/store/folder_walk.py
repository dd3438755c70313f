"""One walk of a data folder for a registration: every folder listed once, plain strings, no extra ``stat``.

Registering a folder looks for two things in it: HXMT exposure folders and tomography scan
files. Both used to walk the tree on their own, through ``pathlib`` objects, and each
exposure's absent ``ME``/``LE`` folders were tried too: about 2.5 ``scandir`` calls and a
dozen ``Path`` objects per folder. :class:`FolderWalk` lists each folder once with
``os.scandir`` (entries sorted by name, symbolic links followed, types from the listing),
keeps a folder listed early (an exposure's instrument folders, looked at when the exposure is
found) for when the walk reaches it, and notes the scan files it passes (a non-empty file with
one of the given suffixes: the only entries it ``stat``-s), so that the scan search needs no
second walk.

The order is that of ``sorted(top.rglob("*"))``: depth first, each folder's entries by name.

Two hooks let a re-registration pass over what it has registered without listing it:
``skip(entry)`` is asked before the walk goes into a folder (True: the folder and everything
below it are passed over), and ``record_mtimes`` keeps each folder's modification time as it
was *before* the folder was listed (:attr:`FolderWalk.mtimes`), so that a later walk which
finds the same time knows the folder holds the same entries (see
:func:`listing_mtime`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

#: a folder modified less than this long before it was listed gets no recorded time (ns): a
#: change in the same tick of the file system's clock would leave its time as recorded
RACY_NS = 2_000_000_000


def listing_mtime(folder: str, now_ns: int | None = None) -> int | None:
    """The modification time of ``folder`` (ns) to record before listing it, None when it cannot be
    trusted to tell a later change: too recent (:data:`RACY_NS`, as git treats a "racily clean"
    index entry), in the future (a clock ahead, a network file system), or not readable.

    Any entry added, removed or renamed in a folder sets its modification time to the time of
    the change; a file rewritten in place does not, which is why the files' sizes are compared
    besides (:class:`.registered.UnchangedCheck`).
    """
    try:
        m = os.stat(folder).st_mtime_ns
    except OSError:
        return None
    now = time.time_ns() if now_ns is None else now_ns
    return m if now - m >= RACY_NS else None


class FolderWalk:
    """A depth-first walk of a folder tree that lists each folder once.

    Parameters
    ----------
    suffixes
        Lower-case file suffixes (``".h5"``...) of the files to note in :attr:`files`.
    skip
        ``skip(entry)`` True: the walk does not go into the folder ``entry`` (an ``os.DirEntry``);
        None: every folder is walked.
    record_mtimes
        Keep each listed folder's modification time from before its listing in :attr:`mtimes`
        (one ``stat`` per folder; see :func:`listing_mtime`).

    Attributes
    ----------
    files
        Paths of the non-empty files with one of ``suffixes`` passed so far, in walk order.
    complete
        True once :meth:`folders` has been run to its end (then :attr:`files` holds every such file).
    mtimes
        ``{folder path: modification time (ns) before it was listed}`` (``record_mtimes``; a folder
        whose time cannot be trusted is left out, see :func:`listing_mtime`).
    """

    def __init__(
        self,
        suffixes: tuple[str, ...] = (),
        skip: Callable[[os.DirEntry], bool] | None = None,
        record_mtimes: bool = False,
    ):
        self.suffixes = suffixes
        self.skip = skip
        self.record_mtimes = record_mtimes
        self.files: list[str] = []
        self.mtimes: dict[str, int] = {}
        self.complete = False
        self._kept: dict[str, list[os.DirEntry]] = {}

    def take(self, folder: str) -> list[os.DirEntry] | None:
        """The entries of ``folder`` sorted by name (listed now, or kept from :meth:`peek`); None when
        it cannot be listed (gone, not a folder, no permission)."""
        got = self._kept.pop(folder, None)
        if got is not None:
            return got
        if self.record_mtimes:
            mtime = listing_mtime(folder)
            if mtime is not None:
                self.mtimes[folder] = mtime
        try:
            with os.scandir(folder) as it:
                return sorted(it, key=_name)
        except OSError:
            return None

    def peek(self, folder: str) -> list[os.DirEntry] | None:
        """As :meth:`take`, and the listing is kept for the walk, which reaches ``folder`` later."""
        got = self.take(folder)
        if got is not None:
            self._kept[folder] = got
        return got

    def folders(self, top: str) -> Iterator[tuple[str, str, list[os.DirEntry]]]:
        """``(path, name, the parent's entries)`` of every folder below ``top``, in walk order."""
        yield from self._below(os.fspath(top))
        self.complete = True

    def _below(self, top: str) -> Iterator[tuple[str, str, list[os.DirEntry]]]:
        entries = self.take(top)
        if not entries:
            return
        suffixes, skip = self.suffixes, self.skip
        for e in entries:
            if e.is_dir():
                if skip is not None and skip(e):
                    continue
                yield e.path, e.name, entries
                yield from self._below(e.path)
            elif suffixes and os.path.splitext(e.name)[1].lower() in suffixes and e.is_file():
                try:
                    if e.stat().st_size > 0:
                        self.files.append(e.path)
                except OSError:
                    pass


def _name(entry: os.DirEntry) -> str:
    return entry.name
