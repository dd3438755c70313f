"""hxmt/app/archive.py: searching the local data folder by target, ObsID, cone and time, and their combinations."""

from __future__ import annotations

import pytest

from daisy_widgets.core.errors import ValidationError
from daisy_widgets.hxmt.app.archive import (
    ArchiveUnavailable,
    LocalArchive,
    Query,
    ServiceArchive,
    angular_distance,
    default_archive,
    to_mission_time,
)

CRAB = (83.63308, 22.0145)


def test_target_is_case_insensitive(archive):
    rows = archive.search(Query(target="crab"))
    assert sorted(r["obs_id"] for r in rows) == ["P0101299001", "P0101299002"]
    assert archive.search(Query(target="Vela")) == []


def test_rows_carry_the_observation_metadata(archive):
    (row,) = archive.search(Query(obs_id="P0101299001"))
    assert row["target"] == "Crab" and row["exp_id"] == "P010129900101"
    assert row["instruments"] == ["HE", "LE"] and row["exposure"] == pytest.approx(700, abs=1)
    assert row["ra"] == pytest.approx(CRAB[0]) and row["dec"] == pytest.approx(CRAB[1])
    assert row["start"].startswith("2018-03-01") and row["tstop"] > row["tstart"]
    assert archive.fetch(row).is_dir()


def test_cone(archive):
    assert len(archive.search(Query(ra=CRAB[0] + 0.5, dec=CRAB[1], radius=0.5))) == 2  # 0.46 deg away
    assert archive.search(Query(ra=CRAB[0] + 0.6, dec=CRAB[1], radius=0.5)) == []  # 0.56 deg away
    assert archive.search(Query(ra=0.0, dec=-60.0, radius=5.0)) == []


def test_angular_distance_matches_astropy():
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    for a, b in [
        ((83.6, 22.0), (84.1, 22.0)),
        ((10.0, 89.9), (190.0, 89.9)),
        ((359.9, -1.0), (0.1, 1.0)),
        ((0.0, 0.0), (180.0, 0.0)),
    ]:
        ref = SkyCoord(*a, unit="deg").separation(SkyCoord(*b, unit="deg")).to_value(u.deg)
        assert angular_distance(*a, *b) == pytest.approx(ref, abs=1e-9)


def test_time_range_and_combination(archive):
    day1 = archive.search(Query(start="2018-03-01", stop="2018-03-01T23:59"))
    assert [r["obs_id"] for r in day1] == ["P0101299001"]
    both = archive.search(
        Query(target="Crab", start="2018-02-28", stop="2018-03-03", ra=CRAB[0], dec=CRAB[1], radius=1)
    )
    assert len(both) == 2
    assert (
        archive.search(
            Query(target="Crab", obs_id="P0101299002", start="2018-03-01", stop="2018-03-01T12:00")
        )
        == []
    )
    # mission seconds work as well as dates
    t = to_mission_time("2018-03-02")
    assert [r["obs_id"] for r in archive.search(Query(start=t))] == ["P0101299002"]


def test_bad_queries_name_the_fields(archive):
    with pytest.raises(ValidationError) as e:
        archive.search(Query(ra=10.0, radius=1.0, start="yesterday-ish"))
    assert set(e.value.problems) == {"dec", "start"}
    with pytest.raises(ValidationError) as e:
        archive.search(Query(start="2018-03-02", stop="2018-03-01"))
    assert "after start" in e.value.problems["stop"][0]
    assert set(Query(ra=400, dec=-95, radius=0).problems()) == {"ra", "dec", "radius"}


def test_empty_or_missing_folder_finds_nothing(tmp_path):
    assert LocalArchive(tmp_path / "nope").search(Query(target="Crab")) == []
    assert "no data service" in LocalArchive(tmp_path).label


def test_default_archive_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("DAISY_TILED_URL", raising=False)
    monkeypatch.setenv("DAISY_DATA_DIR", str(tmp_path))
    a = default_archive()
    assert isinstance(a, LocalArchive) and a.data_dir == tmp_path
    monkeypatch.setenv("DAISY_TILED_URL", "http://127.0.0.1:9/api")
    assert isinstance(default_archive(), ServiceArchive)


def test_service_down_is_a_plain_error():
    # nothing listens on port 9 (discard) of the loopback interface
    with pytest.raises(ArchiveUnavailable):
        ServiceArchive("http://127.0.0.1:9/api", "key").search(Query(target="Crab"))
