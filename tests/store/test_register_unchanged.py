"""Re-registering a data folder: unchanged exposures are passed over without reading or hashing
their files; a changed one takes the full path; the SQLite catalog is in write-ahead-log mode."""

from __future__ import annotations

import sqlite3
import sys

from daisy_widgets.store import catalog as cat
from daisy_widgets.store import scanning

fx = sys.modules["daisy_store_fixtures"]


def test_unchanged_folder_is_not_read_again(tmp_path, monkeypatch):
    data = tmp_path / "data"
    fx.write_data_folder(data)
    db = tmp_path / "catalog.db"
    first = cat.build_catalog(cat.sqlite_uri(db), data, tmp_path / "storage")
    assert first["hxmt"] == len(fx.OBSERVATIONS)
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    reads, hashes = [], []
    real_header, real_sha = scanning.read_header, scanning.sha256_of
    monkeypatch.setattr(scanning, "read_header", lambda p: reads.append(p) or real_header(p))
    monkeypatch.setattr(scanning, "sha256_of", lambda p, *a: hashes.append(p) or real_sha(p, *a))
    again = cat.build_catalog(cat.sqlite_uri(db), data, tmp_path / "storage")
    assert again["hxmt"] == 0 and reads == [] and hashes == []

    # one exposure's event file grows: that exposure alone is read again (and, registered under
    # the same ExpID already, kept as it is, as before)
    evt = sorted(data.rglob("*HE-Evt*"))[0]
    with open(evt, "ab") as fh:
        fh.write(b"\0" * 2880)
    third = cat.build_catalog(cat.sqlite_uri(db), data, tmp_path / "storage")
    assert third["hxmt"] == 0
    assert [p.parent.parent for p in reads] == [evt.parent.parent]
    n_files = sum(1 for p in evt.parent.parent.rglob("*.FITS"))
    assert len(hashes) == n_files


def test_registration_keeps_the_collector_off_the_imported_heap_and_restores_it(tmp_path, monkeypatch):
    """build_catalog freezes the objects alive when it starts (so full collections set off by the
    registration do not traverse them) and unfreezes them on the way out, also when it fails."""
    import gc

    data = tmp_path / "data"
    fx.write_data_folder(data)
    db = tmp_path / "catalog.db"
    before = gc.get_freeze_count()
    seen = []
    real = cat.register_data

    async def spy(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        return await real(*args, **kwargs)

    monkeypatch.setattr(cat, "register_data", spy)
    counts = cat.build_catalog(cat.sqlite_uri(db), data, tmp_path / "storage")
    assert counts["hxmt"] == len(fx.OBSERVATIONS)
    assert seen and seen[0] > before + 1000  # the imported heap is frozen while registering
    assert gc.get_freeze_count() == before and gc.isenabled()

    async def fails(*args, **kwargs):
        assert gc.get_freeze_count() > before
        raise RuntimeError("stopped")

    monkeypatch.setattr(cat, "register_data", fails)
    try:
        cat.build_catalog(cat.sqlite_uri(db), data, tmp_path / "storage")
    except RuntimeError as exc:
        assert str(exc) == "stopped"
    else:
        raise AssertionError("the registration's error was not raised")
    assert gc.get_freeze_count() == before


def test_registration_leaves_a_callers_frozen_heap_frozen(tmp_path):
    """A caller that froze its heap itself finds it frozen still (``gc.unfreeze`` is all or nothing)."""
    import gc

    data = tmp_path / "data"
    fx.write_data_folder(data)
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert before > 0
        counts = cat.build_catalog(cat.sqlite_uri(tmp_path / "catalog.db"), data, tmp_path / "storage")
        assert counts["hxmt"] == len(fx.OBSERVATIONS)
        assert gc.get_freeze_count() >= before
    finally:
        gc.unfreeze()
