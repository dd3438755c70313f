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
"""

from __future__ import annotations

import os
from collections.abc import Iterator


class FolderWalk:
    """A depth-first walk of a folder tree that lists each folder once.

    Parameters
    ----------
    suffixes
        Lower-case file suffixes (``".h5"``...) of the files to note in :attr:`files`.

    Attributes
    ----------
    files
        Paths of the non-empty files with one of ``suffixes`` passed so far, in walk order.
    complete
        True once :meth:`folders` has been run to its end (then :attr:`files` holds every such file).
    """

    def __init__(self, suffixes: tuple[str, ...] = ()):
        self.suffixes = suffixes
        self.files: list[str] = []
        self.complete = False
        self._kept: dict[str, list[os.DirEntry]] = {}

    def take(self, folder: str) -> list[os.DirEntry] | None:
        """The entries of ``folder`` sorted by name (listed now, or kept from :meth:`peek`); None when
        it cannot be listed (gone, not a folder, no permission)."""
        got = self._kept.pop(folder, None)
        if got is not None:
            return got
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
        suffixes = self.suffixes
        for e in entries:
            if e.is_dir():
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
