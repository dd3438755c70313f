"""Registration in batches: the catalog it writes equals the one-exposure-at-a-time path's (SQLite and
PostgreSQL), registering twice changes nothing, an interrupted batch leaves whole exposures only, a
bad file is named and the rest registered, and the fast header readers agree with astropy."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import sys

import numpy as np
import pytest
from astropy.io import fits

from daisy_widgets.store import catalog as cat
from daisy_widgets.store import data_sources, fits_header, register_batch, scanning, schema
from daisy_widgets.store.catalog_uri import resolve

fx = sys.modules["daisy_store_fixtures"]
N_OBS = len(fx.OBSERVATIONS)


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch-data")
    fx.write_data_folder(d)
    return d


def _fresh(backend: str, request, tmp_path, name: str) -> str:
    if backend == "sqlite":
        return resolve(f"sqlite:///{tmp_path / (name + '.db')}", tmp_path, from_command_line=False)
    cluster = request.getfixturevalue("postgres")
    db = f"b{abs(hash((request.node.nodeid, name))) % 10**9}"
    return resolve(cluster.create_database(db), tmp_path, from_command_line=False)


def dump(uri: str) -> dict:
    """Everything registration writes under ``hxmt/``, by path (ids left out), and the exposures'
    order in the catalog (by node id: the order searches return them in). The folders' times an
    exposure keeps (``listing_mtime_ns``) are left out: whether they are kept depends on how long
    before the registration the files were written (tests/store/test_register_mtimes.py)."""
    from sqlalchemy import text

    def js(v):
        return json.loads(v) if isinstance(v, str) else v

    async def run():
        eng = schema.engine_for(uri)
        try:
            async with eng.connect() as conn:

                async def rows(q):
                    return (await conn.execute(text(q))).all()

                hx = (await rows("SELECT id FROM nodes WHERE parent = 0 AND key = 'hxmt'"))[0][0]
                exps = await rows(
                    f"SELECT id, key, metadata, specs, structure_family FROM nodes WHERE parent = {hx} ORDER BY id"
                )
                path = {i: k for i, k, *_ in exps}
                out = {"order": [k for _, k, *_ in exps], "nodes": {}, "sources": {}, "index": {}}
                for _, k, m, s, f in exps:
                    meta = js(m)
                    meta.pop("listing_mtime_ns", None)
                    out["nodes"][k] = (meta, js(s), str(f))
                kids = await rows(
                    f"SELECT c.id, c.parent, c.key, c.metadata, c.specs, c.structure_family FROM nodes c "
                    f"JOIN nodes p ON c.parent = p.id WHERE p.parent = {hx}"
                )
                for i, parent, k, m, s, f in kids:
                    path[i] = f"{path[parent]}/{k}"
                    out["nodes"][path[i]] = (js(m), js(s), str(f))
                for nid, fam, mime, man, par, prop, st, uri_, isdir, size, param, num in await rows(
                    "SELECT d.node_id, d.structure_family, d.mimetype, d.management, d.parameters, d.properties, "
                    "s.structure, a.data_uri, a.is_directory, a.size, l.parameter, l.num FROM data_sources d "
                    "JOIN structures s ON s.id = d.structure_id "
                    "JOIN data_source_asset_association l ON l.data_source_id = d.id "
                    "JOIN assets a ON a.id = l.asset_id"
                ):
                    if nid in path:
                        out["sources"][path[nid]] = (
                            str(fam),
                            mime,
                            str(man),
                            js(par),
                            js(prop),
                            js(st),
                            uri_,
                            bool(isdir),
                            size,
                            param,
                            num,
                        )
                for r in await rows("SELECT * FROM daisy_observations"):
                    d = dict(r._mapping)
                    out["index"][path[d.pop("node_id")]] = (d.pop("parent_id") == hx, d)
                out["closure"] = (await rows("SELECT count(*) FROM nodes_closure"))[0][0]
                return out
        finally:
            await eng.dispose()

    return asyncio.run(run())


def build(uri, data, tmp, **kw):
    return cat.build_catalog(uri, data, tmp / "storage", **kw)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_batches_write_what_one_exposure_at_a_time_writes(
    backend, request, tmp_path, data_folder, monkeypatch
):
    from sqlalchemy.exc import IntegrityError

    one_by_one, batched = (
        _fresh(backend, request, tmp_path, "one"),
        _fresh(backend, request, tmp_path, "batch"),
    )

    async def collides(*a, **k):  # every batch falls back to the one-exposure path
        raise IntegrityError("INSERT", {}, Exception("registered meanwhile"))

    with monkeypatch.context() as m:
        m.setattr(register_batch, "write_exposures", collides)
        assert build(one_by_one, data_folder, tmp_path)["hxmt"] == N_OBS
    monkeypatch.setattr(cat, "REGISTER_BATCH", 4)  # three batches: 4 + 4 + 1
    assert build(batched, data_folder, tmp_path)["hxmt"] == N_OBS
    a, b = dump(one_by_one), dump(batched)
    assert len(a["nodes"]) == N_OBS + sum(len(o[6]) + 3 for o in fx.OBSERVATIONS)
    assert len(a["sources"]) == len(a["nodes"]) - N_OBS and len(a["index"]) == N_OBS
    assert a == b
    assert a["order"] == [p.name.split("-")[0] for p in sorted((data_folder / "hxmt").glob("*/*"))]


def test_registering_twice_changes_nothing(tmp_path, data_folder, request):
    uri = _fresh("sqlite", request, tmp_path, "twice")
    assert build(uri, data_folder, tmp_path)["hxmt"] == N_OBS
    before = dump(uri)
    again = build(uri, data_folder, tmp_path)
    assert again == {"hxmt": 0, "tomography": 0, "skipped": 0}
    assert dump(uri) == before


def test_an_interrupted_batch_leaves_whole_batches_only(tmp_path, data_folder, request, monkeypatch):
    uri = _fresh("sqlite", request, tmp_path, "interrupted")
    real, calls = cat._index, []

    async def dies_in_the_second_batch(conn, rows):
        calls.append(rows)
        await real(conn, rows)  # written, then the transaction is abandoned
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cat, "_index", dies_in_the_second_batch)
    monkeypatch.setattr(cat, "REGISTER_BATCH", 4)
    with pytest.raises(KeyboardInterrupt):
        build(uri, data_folder, tmp_path)
    got = dump(uri)
    assert (
        len(calls[1]) == 4 and len(got["index"]) == 4 and len(got["order"]) == 4
    )  # no entry without its row
    assert set(got["nodes"]) == {p for p in got["nodes"] if p.split("/")[0] in got["order"]}
    monkeypatch.setattr(cat, "_index", real)
    assert build(uri, data_folder, tmp_path)["hxmt"] == N_OBS - 4
    assert len(dump(uri)["index"]) == N_OBS


def test_an_entry_without_its_index_row_is_registered_again(tmp_path, data_folder, request):
    """What an interrupted run of an older Daisy (entries and index row in two transactions) left."""
    from sqlalchemy import text

    uri = _fresh("sqlite", request, tmp_path, "half")
    build(uri, data_folder, tmp_path)
    before = dump(uri)
    key = before["order"][2]

    async def drop_row():
        eng = schema.engine_for(uri)
        try:
            async with eng.begin() as conn:
                await conn.execute(text(f"DELETE FROM daisy_observations WHERE exp_id = '{key}'"))
        finally:
            await eng.dispose()

    asyncio.run(drop_row())
    lines: list[str] = []
    counts = build(uri, data_folder, tmp_path, log=lines.append)
    assert counts["hxmt"] == 1
    assert any(f"hxmt/{key}: left half-registered" in s for s in lines)
    after = dump(uri)
    assert after["order"] == before["order"][:2] + before["order"][3:] + [key]  # written again, last
    assert {k: v for k, v in after.items() if k != "order"} == {
        k: v for k, v in before.items() if k != "order"
    }


def test_a_bad_file_is_named_and_the_rest_registered(tmp_path, data_folder, request):
    data = tmp_path / "data"
    shutil.copytree(data_folder / "hxmt", data / "hxmt")
    evt = sorted(data.rglob("*_HE-Evt_*"))[0]  # its exposure's header comes from this file
    evt.write_bytes(b"not a FITS file" * 300)
    ehk = sorted(data.rglob("*_EHK_*"))[3]  # another exposure's housekeeping file, overwritten
    ehk.write_bytes(b"neither" * 500)
    uri = _fresh("sqlite", request, tmp_path, "bad")
    lines: list[str] = []
    counts = build(uri, data, tmp_path, log=lines.append)
    assert counts["hxmt"] == N_OBS - 1 and counts["skipped"] == 2
    assert any(s.startswith(f"  skipped {evt}: ") for s in lines), lines
    assert any(s.startswith(f"  skipped {ehk}: ") for s in lines), lines
    got = dump(uri)
    bad_exp = evt.name.split("_")[1]
    assert bad_exp not in got["order"] and len(got["order"]) == N_OBS - 1
    ehk_exp = ehk.name.split("_")[1]
    assert f"{ehk_exp}/EHK" not in got["nodes"] and f"{ehk_exp}/Orbit" in got["nodes"]
    assert any(f["name"] == ehk.name for f in got["nodes"][ehk_exp][0]["files"])  # still listed, as before


# ----------------------------------------------------------------------------- header readers
def _table_files(folder):
    """FITS files of many table layouts (some shared), and files the fast reader leaves to astropy."""
    rng = np.random.default_rng(5)
    out = []

    def write(name, hdus):
        p = folder / name
        fits.HDUList([fits.PrimaryHDU(), *hdus]).writeto(p)
        out.append(p)

    for i, n in enumerate((1, 7, 300)):  # one layout, three sizes
        write(
            f"events{i}.fits",
            [
                fits.BinTableHDU.from_columns(
                    [
                        fits.Column("Time", "D", array=rng.uniform(0, 1, n)),
                        fits.Column("PI", "I", array=rng.integers(0, 99, n)),
                    ]
                )
            ],
        )
    write(
        "unsigned.fits",
        [
            fits.BinTableHDU.from_columns(
                [fits.Column("U", "I", bzero=32768, array=np.arange(5, dtype=np.uint16))]
            )
        ],
    )
    write(
        "signed.fits",
        [fits.BinTableHDU.from_columns([fits.Column("U", "I", array=np.arange(5, dtype=np.int16))])],
    )
    scaled = folder / "scaled.fits"  # signed.fits with TSCAL1 = 0.5 (physical values: floats)
    raw = bytearray((folder / "signed.fits").read_bytes())
    end = raw.index(b"END" + b" " * 77, 2880)
    raw[end : end + 160] = b"TSCAL1  =                  0.5".ljust(80) + b"END".ljust(80)
    scaled.write_bytes(bytes(raw))
    out.append(scaled)
    write(
        "strings.fits",
        [
            fits.BinTableHDU.from_columns(
                [
                    fits.Column("Name", "8A", array=np.array(["ab", "cdefgh"])),
                    fits.Column("Ok", "L", array=np.array([True, False])),
                ]
            )
        ],
    )
    write(
        "vector.fits",
        [
            fits.BinTableHDU.from_columns(
                [
                    fits.Column("Spec", "4E", array=np.ones((3, 4), np.float32)),
                    fits.Column("T", "J", array=np.arange(3)),
                ]
            )
        ],
    )
    write(
        "empty.fits",
        [
            fits.BinTableHDU.from_columns(
                [
                    fits.Column("Time", "D", array=np.zeros(0)),
                    fits.Column("PI", "I", array=np.zeros(0, np.int16)),
                ]
            )
        ],
    )
    write(
        "image_first.fits",
        [
            fits.ImageHDU(np.ones((4, 4))),
            fits.BinTableHDU.from_columns([fits.Column("Time", "D", array=np.arange(3.0))]),
        ],
    )
    write("no_table.fits", [fits.ImageHDU(np.ones((2, 3)))])
    write(
        "compressed_first.fits",
        [
            fits.CompImageHDU(np.ones((8, 8), np.float32)),
            fits.BinTableHDU.from_columns([fits.Column("X", "K", array=np.arange(2))]),
        ],
    )
    long = fits.BinTableHDU.from_columns([fits.Column("Time", "D", array=np.arange(2.0))])
    long.header["TUNIT1"] = "s" * 100  # a long string: CONTINUE cards
    write("long_unit.fits", [long])
    short = folder / "truncated.fits"
    short.write_bytes((folder / "events2.fits").read_bytes()[:-3000])
    out.append(short)
    return out


def test_structures_by_header_layout_equal_the_ones_read(tmp_path, data_folder):
    files = _table_files(tmp_path) + sorted(data_folder.rglob("*.FITS"))
    random.Random(3).shuffle(files)
    structures = data_sources.TableStructures()
    for p in files + files:  # twice: every layout seen before the second pass
        try:
            direct = data_sources.table_structure(p)
        except Exception as exc:
            with pytest.raises(type(exc)):
                structures(p)
            continue
        assert structures(p) == direct, p
    assert structures.read < len(files)  # layouts were shared
    sigs = {p.name: fits_header.table_signature(p) for p in files}
    assert sigs["events0.fits"] == sigs["events2.fits"] != sigs["empty.fits"]
    assert len({sigs[n] for n in ("unsigned.fits", "signed.fits", "scaled.fits")}) == 3
    for n in ("compressed_first.fits", "long_unit.fits", "truncated.fits"):
        assert sigs[n] is None, n
    assert sigs["no_table.fits"] == ("no table",)


def test_primary_header_values_equal_astropys(tmp_path, data_folder):
    h = fits.Header()
    for k, v in (
        ("OBJECT", "O'Neil's  "),
        ("RA_OBJ", 83.63308),
        ("DEC_OBJ", -22),
        ("OBS_ID", "P0101299001"),
        ("EXPOSURE", 1.5e3),
        ("INSTLIST", "HE,ME"),
        ("DATA_VER", ""),
        ("TELESCOP", True),
    ):
        h[k] = v
    plain = tmp_path / "plain.fits"
    fits.HDUList([fits.PrimaryHDU(header=h)]).writeto(plain)
    h["OBJECT"] = "x" * 90  # CONTINUE cards: astropy reads this header
    long = tmp_path / "long.fits"
    fits.HDUList([fits.PrimaryHDU(header=h)]).writeto(long)
    d_exp = tmp_path / "d_exponent.fits"
    raw = bytearray(plain.read_bytes())
    i = raw.index(b"EXPOSURE= ")
    raw[i : i + 80] = b"EXPOSURE=               1.5D3 / D exponent".ljust(80)
    d_exp.write_bytes(bytes(raw))
    record = tmp_path / "record.fits"
    h["OBJECT"] = "Crab: 1"  # read by astropy as a record-valued card
    fits.HDUList([fits.PrimaryHDU(header=h)]).writeto(record)
    for p in [plain, long, d_exp, record, *sorted(data_folder.rglob("*.FITS"))]:
        with fits.open(p, memmap=False) as hl:
            want = {k: hl[0].header[k] for k in scanning.HEADER_KEYS if k in hl[0].header}
        got = scanning.read_header(p)
        assert got == want and [type(v) for v in got.values()] == [type(v) for v in want.values()], p
    assert fits_header.primary_header(long, scanning.HEADER_KEYS)["OBJECT"] == "x" * 90
