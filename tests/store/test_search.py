"""HXMT archive search over real HTTP: each rule, their combinations, checked against ground truth."""

from __future__ import annotations

import subprocess
import sys

import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from daisy_widgets.core.errors import ValidationError
from daisy_widgets.store import search_observations

fx = sys.modules["daisy_store_fixtures"]
P = fx.PROGRAM
CRAB = (83.63308, 22.0145)


def truth(target=None, obs=None, cone=None, start=None, stop=None) -> list[str]:
    """ExpIDs expected, computed from the fixture table with astropy (independent of the client)."""
    out = []
    for name, suf, ra, dec, t_iso, dur, _ in fx.OBSERVATIONS:
        exp = P + suf + "01"
        t0 = fx.mission_time(t_iso)
        if target is not None and target.lower() not in name.lower():
            continue
        if obs is not None and not exp.startswith(obs.upper()):
            continue
        if cone is not None:
            sep = (
                SkyCoord(cone[0], cone[1], unit="deg")
                .separation(SkyCoord(ra, dec, unit="deg"))
                .to_value(u.deg)
            )
            if sep > cone[2]:
                continue
        if start is not None and t0 + dur < fx.mission_time(start):
            continue
        if stop is not None and t0 > fx.mission_time(stop):
            continue
        out.append(exp)
    return sorted(out)


def got(**kw) -> list[str]:
    return sorted(search_observations(**kw)["exp_id"])


@pytest.mark.parametrize(
    "target, n",
    [("Crab", 3), ("crab", 3), ("CRAB", 3), ("vela", 1), ("x-1", 2), ("Swift_J1756", 1), ("Sco X-1", 0)],
)
def test_target_is_case_insensitive(env, target, n):
    assert got(target=target) == truth(target=target)
    assert len(truth(target=target)) == n


def test_obsid_and_expid(env):
    assert got(obs_id=P + "04") == [P + "0401"]
    assert got(obs_id=(P + "0401").lower()) == [P + "0401"]
    assert got(obs_id="P0101") == truth(obs="P0101") and len(truth(obs="P0101")) == len(fx.OBSERVATIONS)
    assert got(obs_id="P0999") == []


@pytest.mark.parametrize(
    "cone",
    [
        (83.63308, 22.0145, 0.1),  # the Crab only (2 exposures)
        (83.63308, 22.0145, 0.47),  # + the offset pointing 0.4636 deg away
        (83.63308, 22.0145, 0.46),  # ... not at 0.46 deg: exact distance, not a box
        (0.0, 1.0, 0.2),  # across RA 0/360
        (180.0, 89.9, 1.0),  # near the pole: RA far from the field's 37.95
        (135.0, -40.0, 1.0),
    ],
)
def test_cone_exact_angular_distance(env, cone):
    assert got(cone=cone) == truth(cone=cone)


def test_cone_returns_separation(env):
    t = search_observations(cone=(84.13, 22.0145, 0.5))
    sep = dict(zip(t["exp_id"], t["separation"], strict=False))
    ref = SkyCoord(84.13, 22.0145, unit="deg").separation(SkyCoord(*CRAB, unit="deg")).to_value(u.deg)
    assert sep[P + "0101"] == pytest.approx(ref, abs=1e-9) and sep[P + "0301"] == pytest.approx(0, abs=1e-9)


def test_time_range_overlap(env):
    # an observation that starts before the range and ends inside it matches (overlap)
    assert got(start="2018-03-01T00:30:00", stop="2018-03-01T01:00:00") == [P + "0101"]
    assert got(start="2018-03-01T01:00:00", stop="2018-03-02T00:00:00") == []
    assert got(start="2019-01-01") == truth(start="2019-01-01")
    assert got(stop="2018-03-03") == truth(stop="2018-03-03") == [P + "0101", P + "0201"]
    t = fx.mission_time("2018-04-01")  # mission seconds work as well as dates
    assert got(start=t, stop=str(t + 86400 * 30)) == [P + "0401"]


@pytest.mark.parametrize(
    "kw",
    [
        dict(target="crab", cone=(83.63308, 22.0145, 0.1)),
        dict(target="crab", start="2018-03-02", stop="2018-03-10"),
        dict(cone=(83.63308, 22.0145, 1.0), start="2018-03-04", stop="2018-03-06"),
        dict(
            target="x-1",
            obs_id="P0101299005",
            cone=(299.59, 35.2, 0.1),
            start="2018-12-31",
            stop="2019-01-02",
        ),
        dict(target="wrap", cone=(0.0, 1.0, 0.15)),
        dict(target="vela", start="2019-01-01"),
    ],
)
def test_combinations(env, kw):
    cone = kw.get("cone")
    assert got(**kw) == truth(kw.get("target"), kw.get("obs_id"), cone, kw.get("start"), kw.get("stop"))


def test_result_table(env):
    t = search_observations(obs_id=P + "01")
    row = t.iloc[0]
    assert list(t.columns[:5]) == ["target", "obs_id", "exp_id", "ra", "dec"]
    assert row["target"] == "Crab" and row["obs_id"] == P + "01" and row["instruments"] == "HE ME LE"
    assert row["ra"] == pytest.approx(CRAB[0]) and row["dec"] == pytest.approx(CRAB[1])
    assert row["start"] == "2018-03-01T00:10:00" and row["stop"] == "2018-03-01T01:00:00"
    assert row["tstart"] == pytest.approx(fx.mission_time("2018-03-01T00:10:00"), abs=1e-3)
    assert row["tstop"] - row["tstart"] == pytest.approx(3000) and row["exposure"] == 3000
    assert row["data_version"] == "V1" and row["uri"] == f"hxmt/{P}0101"
    assert list(search_observations(target="crab")["tstart"]) == sorted(
        search_observations(target="crab")["tstart"]
    )


def test_malformed_queries_name_every_field(env):
    with pytest.raises(ValidationError) as e:
        search_observations(cone=(400, -95, 0), start="yesterday-ish", obs_id="P01;DROP")
    assert set(e.value.problems) == {"cone", "start", "obs_id"}
    assert len(e.value.problems["cone"]) == 3
    with pytest.raises(ValidationError) as e:
        search_observations(start="2018-03-02", stop="2018-03-01")
    assert "after start" in e.value.problems["stop"][0]
    with pytest.raises(ValidationError):
        search_observations(cone=("a", 1, 2))


def test_cli_search_prints_matches(env):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "daisy_widgets.cli",
            "data",
            "search",
            "--target",
            "Crab",
            "--cone",
            "83.63",
            "22.01",
            "0.2",
            "--start",
            "2018-02-28",
            "--stop",
            "2018-03-03",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert P + "0101" in r.stdout and P + "0201" in r.stdout and P + "0301" not in r.stdout
    assert "2 observation(s)" in r.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "daisy_widgets.cli", "data", "search", "--start", "soon"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "start" in bad.stderr and "Traceback" not in bad.stderr
