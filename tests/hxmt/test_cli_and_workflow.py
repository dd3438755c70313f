"""The CLI, the registered algorithms, the workflow JSON and many observations on the Dask engine."""

from __future__ import annotations

import json

import pytest
from astropy.io import fits

from daisy_widgets.cli import main


def test_algorithms_registered_with_units_and_help():
    from daisy_widgets.core.registry import algorithms

    algos = algorithms()
    for name in (
        "hxmt.load_l1",
        "hxmt.pical",
        "hxmt.grade",
        "hxmt.recon",
        "hxmt.gtigen",
        "hxmt.screen",
        "hxmt.lcgen",
        "hxmt.specgen",
        "hxmt.rspgen",
        "hxmt.bkgmap",
        "hxmt.barycorr",
        "hxmt.fold",
        "hxmt.z2search",
        "hxmt.powspec",
        "hxmt.write_products",
    ):
        assert name in algos, name
        for p in algos[name].params:
            assert p.help, (name, p.name)
    assert algos["hxmt.lcgen"].param("binsize").unit == "s"
    assert algos["hxmt.gtigen"].validate_params({"expr": "ELV>"})["expr"]


def test_workflow_json_round_trip(tmp_path):
    from daisy_widgets.core.workflow import Workflow
    from daisy_widgets.hxmt.pipeline import pipeline_workflow

    wf = pipeline_workflow("LE", "/data/l1", "/data/out", pi_range=(106, 1170), frequency=29.6)
    wf.validate()
    ids = [s.id for s in wf.steps]
    assert ids[:3] == ["load", "pical", "recon"] and "barycorr" in ids and ids[-1] == "write"
    wf.save(tmp_path / "le.json")
    assert Workflow.load(tmp_path / "le.json") == wf
    assert json.loads((tmp_path / "le.json").read_text())["version"] == 1


def test_cli_simulate_and_pipeline(tmp_path, capsys):
    rc = main(
        [
            "hxmt",
            "simulate",
            "--instrument",
            "ME",
            "--out",
            str(tmp_path / "l1"),
            "--exposure",
            "300",
            "--start",
            "194488147.8",
            "--seed",
            "2",
            "--pulsar-frequency",
            "29.6",
        ]
    )
    assert rc == 0
    l1 = capsys.readouterr().out.strip().splitlines()[-1]
    rc = main(
        [
            "hxmt",
            "pipeline",
            l1,
            "--instrument",
            "ME",
            "--out",
            str(tmp_path / "out"),
            "--pi-range",
            "120:460",
            "--binsize",
            "2",
            "--detectors",
            "0-70,72-142",
            "--frequency",
            "29.6",
            "--no-progress",
        ]
    )
    assert rc == 0
    assert (tmp_path / "out" / "ME_profile.fits").is_file()
    lc = fits.open(tmp_path / "out" / "ME_lc.fits")
    assert lc["RATE"].header["TIMEDEL"] == 2.0 and lc["RATE"].header["PI_MIN"] == 120
    assert fits.getheader(tmp_path / "out" / "ME.rsp", "MATRIX")["NDETS"] == 142


def test_cli_errors_are_one_line_messages(tmp_path, capsys):
    rc = main(
        [
            "hxmt",
            "pipeline",
            str(tmp_path),
            "--instrument",
            "LE",
            "--out",
            str(tmp_path / "o"),
            "--pi-range",
            "0:2000",
        ]
    )
    assert rc == 1 and "outside LE's channels 0:1535" in capsys.readouterr().err
    rc = main(
        [
            "hxmt",
            "pipeline",
            str(tmp_path),
            "--instrument",
            "HE",
            "--out",
            str(tmp_path / "o"),
            "--gti-expr",
            "ELV>10 &&& COR>8",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "'&'" in err and "Traceback" not in err
    rc = main(
        ["hxmt", "pipeline", str(tmp_path / "nope"), "--instrument", "HE", "--out", str(tmp_path / "o")]
    )
    assert rc == 1 and "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.timeout(120)
def test_many_observations_in_parallel_on_dask(tmp_path):
    from daisy_widgets.hxmt.pipeline import run_many
    from daisy_widgets.hxmt.simulate import write_sample_observations

    l1s = write_sample_observations(tmp_path, n=2, exposure=400.0, instruments=("HE",))
    assert all("data/hxmt" in p.as_posix() for p in l1s)
    outs = [tmp_path / "out" / p.name for p in l1s]
    files = run_many(l1s, "HE", outs, engine="dask")
    assert len(files) == 2
    for out in outs:
        assert (out / "HE_spec.pha").is_file()
    h = [fits.getheader(p / "HE_spec.pha", "SPECTRUM") for p in outs]
    assert h[0]["OBS_ID"] != h[1]["OBS_ID"] and h[0]["OBJECT"] == "Crab"
