"""The catalog database on SQLite and on a real PostgreSQL: refusals at start, schema upgrade,
interrupted and concurrent registrations, migration, live registration under a running service."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daisy_widgets.store import catalog as cat
from daisy_widgets.store import obs_index, schema
from daisy_widgets.store.catalog_uri import CatalogError, resolve

fx = sys.modules["daisy_store_fixtures"]
pgc = sys.modules["daisy_pg_cluster"]
conftest_free_port = pgc.free_port
N_OBS = len(fx.OBSERVATIONS)


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("catalog-data")
    fx.write_data_folder(d)
    return d


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request, tmp_path):
    """A fresh, empty catalog database: its URI (driver named, password filled in)."""
    if request.param == "sqlite":
        return resolve(f"sqlite:///{tmp_path / 'catalog.db'}", tmp_path, from_command_line=False)
    cluster = request.getfixturevalue("postgres")
    name = f"t{abs(hash(request.node.nodeid)) % 10**9}"
    return resolve(cluster.create_database(name), tmp_path, from_command_line=False)


def sql(uri: str, statement: str) -> list:
    from sqlalchemy import text

    async def run():
        eng = schema.engine_for(uri)
        try:
            async with eng.begin() as conn:
                r = await conn.execute(text(statement))
                return r.all() if r.returns_rows else []
        finally:
            await eng.dispose()

    return asyncio.run(run())


def hxmt_keys(uri: str) -> list[str]:
    return sorted(
        r[0]
        for r in sql(
            uri, "SELECT key FROM nodes WHERE parent = (SELECT id FROM nodes WHERE key='hxmt' AND parent=0)"
        )
    )


def found(uri: str, **rules) -> list[str]:
    """ExpIDs the index selects for ``rules`` (target, obs_id, cone, tstart, tstop)."""
    from sqlalchemy import select

    args = [rules.get(k) for k in ("target", "obs_id", "cone", "tstart", "tstop")]
    o = obs_index.observations

    async def run():
        eng = schema.engine_for(uri)
        try:
            async with eng.connect() as conn:
                return sorted(
                    (
                        await conn.execute(select(o.c.exp_id).where(obs_index.search_condition(*args)))
                    ).scalars()
                )
        finally:
            await eng.dispose()

    return asyncio.run(run())


def build(uri: str, data: Path, tmp: Path, **kw) -> dict:
    return cat.build_catalog(uri, data, tmp / "storage", **kw)


def serve_cli(args: list[str], env_extra: dict, tmp: Path, data: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DAISY_STATE_DIR=str(tmp / "state"), **env_extra)
    env.pop("DAISY_CATALOG_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "daisy_widgets.cli", "data", "serve", str(data), "--port", "1", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


# ----------------------------------------------------------------------------- refusals at start
def test_unreachable_database_is_refused_naming_the_uri(tmp_path, data_folder):
    port = conftest_free_port()  # nothing listens there
    r = serve_cli(
        ["--catalog", f"postgresql://daisy@127.0.0.1:{port}/tiled"],
        {"DAISY_CATALOG_PASSWORD": "s3cret-pw"},
        tmp_path,
        data_folder,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"127.0.0.1:{port}/tiled" in r.stderr and "does not answer" in r.stderr
    assert "s3cret-pw" not in r.stdout + r.stderr and "Traceback" not in r.stderr


def test_wrong_credentials_are_refused(postgres, tmp_path, data_folder):
    postgres.create_database("creds")
    r = serve_cli(
        ["--catalog", postgres.uri("creds", password=False)],
        {"DAISY_CATALOG_PASSWORD": "wrong-password"},
        tmp_path,
        data_folder,
    )
    assert r.returncode == 1
    assert "refused the credentials" in r.stderr and f"127.0.0.1:{postgres.port}/creds" in r.stderr
    assert "wrong-password" not in r.stdout + r.stderr and "Traceback" not in r.stderr


def test_password_on_the_command_line_is_refused(postgres, tmp_path, data_folder):
    r = serve_cli(["--catalog", postgres.uri("x")], {}, tmp_path, data_folder)
    assert r.returncode == 1 and "command line" in r.stderr and pgc.PASSWORD not in r.stderr


def test_password_from_a_file(postgres, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(pgc.PASSWORD + "\n")
    os.environ.pop("DAISY_CATALOG_PASSWORD", None)
    os.environ["DAISY_CATALOG_PASSWORD_FILE"] = str(pw)
    try:
        uri = resolve(postgres.uri("postgres", password=False), tmp_path, from_command_line=True)
    finally:
        del os.environ["DAISY_CATALOG_PASSWORD_FILE"]
    assert sql(uri, "SELECT 1") == [(1,)]


def test_newer_schema_version_is_refused(catalog, tmp_path, data_folder):
    build(catalog, data_folder, tmp_path)
    sql(catalog, "UPDATE daisy_schema SET version = 99")
    with pytest.raises(CatalogError, match="schema version 99 is newer") as e:
        schema.prepare(catalog)
    assert "***" in str(e.value) or "sqlite" in str(e.value)
    assert pgc.PASSWORD not in str(e.value)


# ----------------------------------------------------------------------------- schema upgrade
def test_upgrade_from_version_1_keeps_every_entry(catalog, tmp_path, data_folder):
    build(catalog, data_folder, tmp_path)
    before = hxmt_keys(catalog)
    sql(catalog, "DROP TABLE daisy_observations")  # a catalog written before the index existed
    sql(catalog, "DROP TABLE daisy_schema")
    assert schema.prepare(catalog) == schema.SCHEMA_VERSION
    assert hxmt_keys(catalog) == before and len(before) == N_OBS
    assert sql(catalog, "SELECT count(*) FROM daisy_observations") == [(N_OBS,)]
    assert found(catalog, target="crab") == [f"{fx.PROGRAM}{s}01" for s in ("01", "02", "03")]


# ----------------------------------------------------------------------------- registration
def test_interrupted_registration_leaves_the_catalog_consistent(catalog, tmp_path, data_folder, monkeypatch):
    real, calls = cat._index, []

    async def dies_on_the_fourth(node, rows):
        calls.append(rows)
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C after the exposure's entries, before its index row
        await real(node, rows)

    monkeypatch.setattr(cat, "_index", dies_on_the_fourth)
    monkeypatch.setattr(cat, "REGISTER_BATCH", 1)  # one exposure per transaction
    with pytest.raises(KeyboardInterrupt):
        build(catalog, data_folder, tmp_path)
    assert sql(catalog, "SELECT count(*) FROM daisy_observations") == [(3,)]  # searchable: whole ones only
    assert len(found(catalog)) == 3
    monkeypatch.setattr(cat, "_index", real)
    counts = build(catalog, data_folder, tmp_path)
    assert counts["hxmt"] == N_OBS - 3  # the half-registered one again, and the rest
    assert len(hxmt_keys(catalog)) == N_OBS == len(set(hxmt_keys(catalog)))
    assert sql(catalog, "SELECT count(*) FROM daisy_observations") == [(N_OBS,)]
    kids = sql(
        catalog,
        "SELECT p.key, count(c.id) FROM nodes p JOIN nodes c ON c.parent = p.id "
        "WHERE p.parent = (SELECT id FROM nodes WHERE key='hxmt' AND parent=0) GROUP BY p.key",
    )
    expected = {f"{fx.PROGRAM}{o[1]}01": len(o[6]) + 3 for o in fx.OBSERVATIONS}
    assert dict(kids) == expected  # every exposure has all its files


def test_two_registrations_at_once_do_not_duplicate(catalog, tmp_path, data_folder):
    schema.prepare(catalog)
    env = dict(os.environ, DAISY_STATE_DIR=str(tmp_path / "state"), DAISY_CATALOG_URI=catalog)
    cmd = [
        sys.executable,
        "-m",
        "daisy_widgets.cli",
        "data",
        "register",
        str(data_folder),
        "--root",
        str(data_folder),
    ]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    new = [int(o.split("daisy: ")[-1].split(" new observation")[0]) for o, _ in outs]
    assert sorted(new) == [0, N_OBS]
    assert hxmt_keys(catalog) == sorted(f"{fx.PROGRAM}{o[1]}01" for o in fx.OBSERVATIONS)
    assert sql(catalog, "SELECT count(*) FROM daisy_observations") == [(N_OBS,)]


def test_bulk_records_are_indexed_and_searchable(catalog, tmp_path):
    recs = [
        {
            "target": f"Src {i}",
            "ra": 10.0 * i,
            "dec": 0.0,
            "obs_id": f"P9{i:09d}",
            "exp_id": f"P9{i:09d}01",
            "tstart": 1e8 + i * 1e4,
            "tstop": 1e8 + i * 1e4 + 5e3,
            "exposure": 5e3,
        }
        for i in range(30)
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert build(catalog, empty, tmp_path, records=recs)["records"] == 30
    assert build(catalog, empty, tmp_path, records=recs)["records"] == 0  # already there: skipped
    assert found(catalog, cone=(20.0, 0.0, 0.5)) == ["P900000000201"]
    assert found(catalog, obs_id="P900000000") == sorted(r["exp_id"] for r in recs[:10])
    assert found(catalog, tstart=1e8 + 2e4 + 4e3, tstop=1e8 + 3e4 + 1) == ["P900000000201", "P900000000301"]

    async def through_tiled():  # the bulk rows are whole Tiled entries, found by the Tiled query
        c = cat.open_catalog(catalog, empty, tmp_path / "storage")
        await c.startup()
        try:
            hx = await c.lookup_adapter(["hxmt"])
            one = await hx.lookup_adapter(["P900000000501"])
            page = await hx.search(
                obs_index.make_query(None, None, (50.0, 0.0, 0.5), None, None)
            ).items_range(0, 10)
            return one.metadata(), [(k, v.metadata()["target"]) for k, v in page], [s.name for s in one.specs]
        finally:
            await c.shutdown()

    meta, page, specs = asyncio.run(through_tiled())
    assert meta["target"] == "Src 5" and meta["kind"] == "hxmt-observation" and specs == ["HXMTExposure"]
    assert page == [("P900000000501", "Src 5")]


# ----------------------------------------------------------------------------- migration
def test_migrate_sqlite_to_postgresql_gives_identical_searches(postgres, tmp_path, data_folder):
    src = resolve(f"sqlite:///{tmp_path / 'src.db'}", tmp_path, from_command_line=False)
    build(src, data_folder, tmp_path)
    postgres.create_database("migrated")
    env = dict(os.environ, DAISY_CATALOG_PASSWORD=pgc.PASSWORD)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "daisy_widgets.cli",
            "data",
            "migrate",
            "--from",
            f"sqlite:///{tmp_path / 'src.db'}",
            "--to",
            postgres.uri("migrated", password=False),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    dst = resolve(postgres.uri("migrated"), tmp_path, from_command_line=False)
    q = "SELECT id, parent, key, structure_family FROM nodes ORDER BY id"
    assert [tuple(map(str, row)) for row in sql(src, q)] == [tuple(map(str, row)) for row in sql(dst, q)]
    meta = "SELECT key, metadata FROM nodes WHERE key LIKE 'P%' ORDER BY id"
    import json

    def norm(rows):
        return [(k, m if isinstance(m, dict) else json.loads(m)) for k, m in rows]

    assert norm(sql(src, meta)) == norm(sql(dst, meta))
    for rules in (
        {"target": "crab"},
        {"obs_id": fx.PROGRAM + "0"},
        {"cone": (0.0, 1.0, 0.2)},
        {"cone": (180.0, 89.9, 1.0)},
        {"tstart": fx.mission_time("2019-01-01")},
    ):
        assert found(src, **rules) == found(dst, **rules) != []
    assert sql(dst, "SELECT count(*) FROM data_source_asset_association") == sql(
        src, "SELECT count(*) FROM data_source_asset_association"
    )
    r2 = subprocess.run(r.args, capture_output=True, text=True, env=env, timeout=300)  # not into a full one
    assert r2.returncode == 1 and "already holds" in r2.stderr


# ----------------------------------------------------------------------------- live registration
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_register_while_serving_is_visible_at_once(backend, request, tmp_path):
    from daisy_widgets.store import search_observations

    data, state = tmp_path / "data", tmp_path / "state"
    name, suf, ra, dec, start, dur, insts = fx.OBSERVATIONS[0]
    fx.write_l1_exposure(data / "hxmt", name, fx.PROGRAM + suf, ra, dec, start, dur, insts)
    env = dict(os.environ, DAISY_STATE_DIR=str(state))
    for k in ("DAISY_TILED_URL", "DAISY_TILED_API_KEY", "DAISY_CATALOG_URI"):
        env.pop(k, None)
    args = []
    if backend == "postgresql":
        cluster = request.getfixturevalue("postgres")
        cluster.create_database("live")
        env["DAISY_CATALOG_PASSWORD"] = pgc.PASSWORD
        args = ["--catalog", cluster.uri("live", password=False)]
    port = pgc.free_port()
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen(
        [sys.executable, "-m", "daisy_widgets.cli", "data", "serve", str(data), "--port", str(port), *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        url, key = f"http://127.0.0.1:{port}/api", (state / "tiled_api_key").read_text().strip()
        assert list(search_observations(target="vela", url=url, api_key=key)["exp_id"]) == []
        name, suf, ra, dec, start, dur, insts = fx.OBSERVATIONS[3]
        fx.write_l1_exposure(data / "hxmt", name, fx.PROGRAM + suf, ra, dec, start, dur, insts)
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "daisy_widgets.cli",
                "data",
                "register",
                str(data / "hxmt"),
                "--root",
                str(data),
                *args,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        t = time.monotonic()
        hits = list(search_observations(target="vela", url=url, api_key=key)["exp_id"])
        assert hits == [fx.PROGRAM + suf + "01"] and time.monotonic() - t < 5
        assert len(search_observations(obs_id=fx.PROGRAM, url=url, api_key=key)) == 2
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
