"""Re-registration by the folders' modification times (``store/registered.py``): an exposure
registered with its folders' times is passed over without listing its folders, and every change
a registration must see still makes the walk list and read it: a file added, removed, grown or
shrunk; a Level-1 folder added; a scan file put in the exposure; a folder touched too recently
to be trusted; catalogs registered without the times."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from daisy_widgets.store import catalog as cat
from daisy_widgets.store import scanning
from daisy_widgets.store.folder_walk import RACY_NS, FolderWalk, listing_mtime

fx = sys.modules["daisy_store_fixtures"]

HOUR_NS = 3600 * 10**9


def _age(root: Path, seconds: float = 3600.0) -> None:
    """Set every file's and folder's times ``seconds`` into the past (as data copied in long ago)."""
    t = time.time() - seconds
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            os.utime(os.path.join(dirpath, name), (t, t))
    os.utime(root, (t, t))


def _registered(tmp_path: Path, uri: str | None = None) -> dict:
    import asyncio

    from daisy_widgets.store import catalog_nodes
    from daisy_widgets.store.registered import registered_exposures

    async def read():
        catalog = cat.open_catalog(
            uri or cat.sqlite_uri(tmp_path / "catalog.db"), tmp_path / "data", tmp_path / "s"
        )
        top = catalog_nodes.TopLevel(catalog, cat.TOP_LEVEL)
        await top.find()
        got = await registered_exposures(catalog.context.engine, top.ids["hxmt"])
        await catalog.context.engine.dispose()
        return got

    return asyncio.run(read()).folders


@pytest.fixture
def registered_folder(tmp_path):
    data = tmp_path / "data"
    fx.write_data_folder(data)
    _age(data)
    counts = cat.build_catalog(cat.sqlite_uri(tmp_path / "catalog.db"), data, tmp_path / "storage")
    assert counts["hxmt"] == len(fx.OBSERVATIONS)
    return data


def _spy(monkeypatch) -> tuple[list[str], list[Path]]:
    """Folders listed and headers read by the next registration."""
    listed: list[str] = []
    reads: list[Path] = []
    real_scandir, real_header = os.scandir, scanning.read_header
    monkeypatch.setattr(os, "scandir", lambda p: listed.append(os.fspath(p)) or real_scandir(p))
    monkeypatch.setattr(scanning, "read_header", lambda p: reads.append(Path(p)) or real_header(p))
    return listed, reads


def _exposures(data: Path) -> list[Path]:
    return sorted({p.parent.parent for p in data.rglob("*_L1P.FITS")})


def test_times_kept_at_registration_are_the_folders_times(tmp_path, registered_folder):
    data = registered_folder
    folders = _registered(tmp_path)
    assert len(folders) == len(fx.OBSERVATIONS)
    for exp in _exposures(data):
        had = folders[str(exp.relative_to(data))]
        l1 = sorted(p.name for p in exp.iterdir() if p.is_dir())
        assert had.mtimes is not None and sorted(had.mtimes) == sorted(["", *l1])
        assert had.mtimes[""] == exp.stat().st_mtime_ns
        assert all(had.mtimes[f] == (exp / f).stat().st_mtime_ns for f in l1)


def test_unchanged_exposures_are_not_listed(tmp_path, registered_folder, monkeypatch):
    data = registered_folder
    listed, reads = _spy(monkeypatch)
    again = cat.build_catalog(cat.sqlite_uri(tmp_path / "catalog.db"), data, tmp_path / "storage")
    monkeypatch.undo()
    assert again == {"hxmt": 0, "tomography": 0, "skipped": 0} and reads == []
    exposures = {str(e) for e in _exposures(data)}
    inside = [p for p in listed if any(p == e or p.startswith(e + os.sep) for e in exposures)]
    assert inside == []  # neither the exposure folders nor their Level-1 folders
    assert str(data / "hxmt") in listed and str(data / "tomography") in listed  # the rest is walked


def test_every_change_is_seen(tmp_path, registered_folder, monkeypatch):
    data = registered_folder
    uri = cat.sqlite_uri(tmp_path / "catalog.db")
    exposures = _exposures(data)
    # d: an exposure without one of the ME/LE folders (it gets that folder, empty)
    d, new_folder = next((x, f) for x in exposures for f in ("LE", "ME") if not (x / f).exists())
    a, b, c, e = [x for x in exposures if x != d][:4]
    extra = sorted(a.rglob("*_L1P.FITS"))[0]  # a: a file more (a newer version)
    shutil.copy(extra, extra.with_name(extra.name.replace("_V1_", "_V2_")))
    sorted(b.rglob("*_L1P.FITS"))[-1].unlink()  # b: a file fewer
    with open(sorted(c.rglob("*_L1P.FITS"))[0], "ab") as fh:  # c: grown in place (no folder time changes)
        fh.write(b"\0" * 2880)
    before = {p: p.stat().st_mtime_ns for p in (c, *c.iterdir())}
    (d / new_folder).mkdir()  # d: a Level-1 folder more (empty: the same Level-1 files)
    fx.write_dx_scan(e / "scan.h5")  # e: a scan file put in the exposure's folder
    assert {p: p.stat().st_mtime_ns for p in before} == before

    listed, reads = _spy(monkeypatch)
    got = cat.build_catalog(uri, data, tmp_path / "storage")
    monkeypatch.undo()
    assert got["tomography"] == 1  # the scan in e found
    assert sorted({p.parent.parent for p in reads}) == sorted([a, b, c])  # changed files: read again
    assert {str(d), str(d / new_folder), str(e)} <= set(listed)  # d, e listed; the same files: not read
    assert str(c / "HE") in listed or str(c / "AUX") in listed

    # d's times (with its new folder) are kept now; e, holding a scan file, is listed each time
    _age(data / "hxmt")
    cat.build_catalog(uri, data, tmp_path / "storage")
    listed, reads = _spy(monkeypatch)
    cat.build_catalog(uri, data, tmp_path / "storage")
    monkeypatch.undo()
    assert str(d) not in listed and str(e) in listed
    evt = sorted(d.glob("*/*-Evt_*_L1P.FITS"))[0]  # a file put in d's new folder: seen
    kind = evt.parent.name
    shutil.copy(evt, d / new_folder / evt.name.replace(f"{kind}-Evt", f"{new_folder}-Evt"))
    listed, reads = _spy(monkeypatch)
    cat.build_catalog(uri, data, tmp_path / "storage")
    monkeypatch.undo()
    assert str(d / new_folder) in listed and d in {p.parent.parent for p in reads}


def test_a_folder_changed_too_recently_is_listed_until_its_time_is_old(tmp_path, monkeypatch):
    data = tmp_path / "data"
    fx.write_data_folder(data)  # just written: every folder's time is within RACY_NS of now
    uri = cat.sqlite_uri(tmp_path / "catalog.db")
    cat.build_catalog(uri, data, tmp_path / "storage")
    assert all(r.mtimes is None for r in _registered(tmp_path).values())
    # registered again later (times old enough now): listed, unchanged, and the times kept
    _age(data)
    assert cat.build_catalog(uri, data, tmp_path / "storage")["hxmt"] == 0
    assert all(r.mtimes is not None for r in _registered(tmp_path).values())
    listed, reads = _spy(monkeypatch)
    assert cat.build_catalog(uri, data, tmp_path / "storage")["hxmt"] == 0
    monkeypatch.undo()
    assert reads == [] and not any(str(e) in listed for e in _exposures(data))


def test_listing_mtime_refuses_recent_and_future_times(tmp_path):
    m = tmp_path.stat().st_mtime_ns
    assert listing_mtime(str(tmp_path), now_ns=m + RACY_NS) == m
    assert listing_mtime(str(tmp_path), now_ns=m + RACY_NS - 1) is None
    assert listing_mtime(str(tmp_path), now_ns=m - HOUR_NS) is None  # clock behind the file system's
    assert listing_mtime(str(tmp_path / "gone"), now_ns=m + HOUR_NS) is None


def test_walk_skip_passes_over_a_folder_and_what_is_below(tmp_path):
    (tmp_path / "a" / "x").mkdir(parents=True)
    (tmp_path / "b" / "y").mkdir(parents=True)
    walk = FolderWalk(skip=lambda e: e.name == "a")
    assert [p for p, _, _ in walk.folders(str(tmp_path))] == [str(tmp_path / "b"), str(tmp_path / "b" / "y")]


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_uri(request, tmp_path):
    """A fresh, empty catalog database's URI (SQLite file, or a database of the test cluster)."""
    from daisy_widgets.store.catalog_uri import resolve

    if request.param == "sqlite":
        return cat.sqlite_uri(tmp_path / "catalog.db")
    cluster = request.getfixturevalue("postgres")
    name = f"m{abs(hash(request.node.nodeid)) % 10**9}"
    return resolve(cluster.create_database(name), tmp_path, from_command_line=False)


def test_a_catalog_without_times_is_checked_by_listing(tmp_path, catalog_uri, monkeypatch):
    """Exposures registered without the times (an older Daisy) are listed and compared by sizes, and
    their times kept then: the next re-registration passes over them unlisted (SQLite, PostgreSQL)."""
    data = tmp_path / "data"
    fx.write_data_folder(data)
    _age(data)
    monkeypatch.setattr(scanning, "listing_mtimes", lambda *a: None)
    uri = catalog_uri
    cat.build_catalog(uri, data, tmp_path / "storage")
    monkeypatch.undo()
    assert all(r.mtimes is None for r in _registered(tmp_path, uri).values())
    listed, reads = _spy(monkeypatch)
    assert cat.build_catalog(uri, data, tmp_path / "storage") == {"hxmt": 0, "tomography": 0, "skipped": 0}
    monkeypatch.undo()
    assert reads == [] and all(str(e) in listed for e in _exposures(data))
    folders = _registered(tmp_path, uri)
    assert len(folders) == len(fx.OBSERVATIONS) and all(r.mtimes is not None for r in folders.values())
    listed, reads = _spy(monkeypatch)
    assert cat.build_catalog(uri, data, tmp_path / "storage")["hxmt"] == 0
    monkeypatch.undo()
    assert reads == [] and not any(str(e) in listed for e in _exposures(data))
