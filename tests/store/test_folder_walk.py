"""One walk of the data folder for a registration (``store/folder_walk.py``): the order of ``sorted(rglob)``,
each folder listed once, the scan files noted on the way; a re-registration still sees files added,
removed or changed in size, and new exposures and scans."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from daisy_widgets.store import catalog as cat
from daisy_widgets.store import scanning
from daisy_widgets.store.folder_walk import FolderWalk

fx = sys.modules["daisy_store_fixtures"]


def test_walk_order_listings_and_scan_files(tmp_path, monkeypatch):
    data = tmp_path / "data"
    fx.write_data_folder(data)
    (data / "tomography" / "empty.h5").write_bytes(b"")  # empty: not a scan file
    (data / "tomography" / "deeper" / "x.H5").parent.mkdir()
    (data / "tomography" / "deeper" / "x.H5").write_bytes(b"\0")
    listed: list[str] = []
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda p: listed.append(os.fspath(p)) or real(p))
    walk = FolderWalk(scanning.SCAN_SUFFIXES)
    folders = [p for p, _, _ in walk.folders(str(data))]
    monkeypatch.undo()
    assert folders == [str(p) for p in sorted(data.rglob("*")) if p.is_dir()]
    assert sorted(listed) == sorted({str(data), *folders}) and len(listed) == len(set(listed))  # each once
    want = [str(p) for p in sorted(data.rglob("*")) if p.suffix.lower() in scanning.SCAN_SUFFIXES]
    assert walk.complete and walk.files == [p for p in want if Path(p).stat().st_size > 0]
    # the scans found from the walk are the scans a walk of its own finds
    from_walk = [(s.path, s.metadata) for s in scanning.find_scans(data, None, walk)]
    assert from_walk == [(s.path, s.metadata) for s in scanning.find_scans(data)] and len(from_walk) == 2


def test_exposures_found_as_before(tmp_path):
    data = tmp_path / "data"
    fx.write_data_folder(data)
    found = list(scanning.find_exposures(data, checksum=False))
    assert [e.key for e, _ in found] == sorted(e.key for e, _ in found) and len(found) == len(fx.OBSERVATIONS)
    for exp, records in found:
        on_disk = sorted(
            (p.parent.name, p.name)
            for p in exp.root.glob("*/*")
            if p.parent.name in scanning.L1_FOLDERS and scanning.L1_NAME.match(p.name)
        )
        assert sorted((r["folder"], r["name"]) for r in records) == on_disk
        assert all(r["size"] == (exp.root / r["folder"] / r["name"]).stat().st_size for r in records)


def test_reregistration_sees_added_removed_and_changed_files(tmp_path, monkeypatch):
    data = tmp_path / "data"
    fx.write_data_folder(data)
    uri = cat.sqlite_uri(tmp_path / "catalog.db")
    cat.build_catalog(uri, data, tmp_path / "storage")
    exposures = sorted({p.parent.parent for p in data.rglob("*_L1P.FITS")})
    a, b, c = exposures[:3]
    # a: one file more; b: one file fewer; c: one file rewritten with another size
    extra = sorted(a.rglob("*_L1P.FITS"))[0]
    shutil.copy(extra, extra.with_name(extra.name.replace("_V1_", "_V2_")))
    sorted(b.rglob("*_L1P.FITS"))[-1].unlink()
    with open(sorted(c.rglob("*_L1P.FITS"))[0], "ab") as fh:
        fh.write(b"\0" * 2880)
    # a new exposure and a new scan
    new = fx.write_l1_exposure(
        data / "hxmt", "Later", fx.PROGRAM + "99", 10.0, 20.0, "2020-01-01T00:00:00", 500, ("HE",)
    )
    fx.write_dx_scan(data / "tomography" / "later.h5")

    reads: list[Path] = []
    real = scanning.read_header
    monkeypatch.setattr(scanning, "read_header", lambda p: reads.append(Path(p)) or real(p))
    got = cat.build_catalog(uri, data, tmp_path / "storage")
    assert got["tomography"] == 1
    assert sorted({p.parent.parent for p in reads}) == sorted([a, b, c, new])  # the rest passed over
    assert got["hxmt"] == 1  # the new ExpID (the changed ones keep their entries, as before)
    reads.clear()
    again = cat.build_catalog(uri, data, tmp_path / "storage")
    assert again == {"hxmt": 0, "tomography": 0, "skipped": 0}
    assert sorted({p.parent.parent for p in reads}) == sorted([a, b, c])  # registered as they were
