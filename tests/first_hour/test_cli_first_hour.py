"""The CLI meets a new user: examples in every --help, "did you mean" for typos, and
``daisy hxmt pipeline ROOT`` on what ``daisy hxmt simulate --out ROOT`` wrote."""

from __future__ import annotations

import argparse

import pytest
from astropy.io import fits

from daisy_widgets.cli import build_parser, main
from daisy_widgets.hxmt.exposures import find_exposures


def _commands(parser, words=()):
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*words, name))


def test_every_commands_help_ends_with_an_example():
    seen = []
    for words, parser in _commands(build_parser()):
        text = parser.format_help().rstrip()
        tail = text.split("Example")[-1] if "Example" in text else ""
        assert "Example" in text and "daisy" in tail, f"daisy {' '.join(words)} --help has no example"
        assert text.splitlines()[-1].strip().startswith("daisy"), words  # the example is the last line
        seen.append(" ".join(words))
    assert {"hxmt pipeline", "tomo recon", "data serve", "workflow run"} <= set(seen)


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["hxmt", "pipelin"], "'pipeline'"),
        (["tomo", "recn"], "'recon'"),
        (["algoritms"], "'algorithms'"),
        (["data", "serv"], "'serve'"),
    ],
)
def test_a_mistyped_command_suggests_the_nearest(argv, suggestion, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"did you mean {suggestion}" in err, err


def test_nothing_near_suggests_nothing(capsys):
    with pytest.raises(SystemExit):
        main(["zzzzzz"])
    assert "did you mean" not in capsys.readouterr().err


def _simulate(root, obs_id, instrument="HE", seed=1):
    rc = main(
        [
            "hxmt",
            "simulate",
            "--instrument",
            instrument,
            "--out",
            str(root),
            "--exposure",
            "200",
            "--start",
            "194488147.8",
            "--obs-id",
            obs_id,
            "--seed",
            str(seed),
        ]
    )
    assert rc == 0


@pytest.mark.timeout(600)
def test_pipeline_on_a_simulated_root_runs_every_exposure_and_says_which(tmp_path, capsys):
    root = tmp_path / "l1"
    _simulate(root, "P0101299001", seed=1)
    _simulate(root, "P0101299002", seed=2)
    capsys.readouterr()
    exposures = find_exposures(root, "HE")
    assert len(exposures) == 2 and [e.parent.name for e in exposures] == ["P0101299001", "P0101299002"]
    # an observation folder and an exposure folder give the same exposures
    assert find_exposures(root / "P0101299002", "HE") == exposures[1:]
    assert find_exposures(exposures[0], "HE") == exposures[:1]

    out = tmp_path / "products"
    rc = main(
        ["hxmt", "pipeline", str(root), "--instrument", "HE", "--out", str(out), "--engine", "inprocess"]
    )
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "2 HE exposure(s) found" in cap.err
    for e in exposures:
        assert str(e) in cap.err  # which ones run is said
        spec = out / e.name / "HE_spec.pha"
        assert spec.is_file() and str(spec) in cap.out
        with fits.open(spec) as hl:  # each product comes from its own exposure
            assert hl["SPECTRUM"].header["OBS_ID"] == e.parent.name
            assert hl["SPECTRUM"].data["COUNTS"].sum() > 0


def test_a_root_without_the_instrument_says_what_it_found(tmp_path, capsys):
    root = tmp_path / "l1"
    _simulate(root, "P0101299001", instrument="LE")
    capsys.readouterr()
    rc = main(["hxmt", "pipeline", str(root), "--instrument", "HE", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and str(root) in err and "HE events" in err and "LE data only" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()
    rc = main(
        ["hxmt", "pipeline", str(tmp_path / "nope"), "--instrument", "HE", "--out", str(tmp_path / "o")]
    )
    assert rc == 1 and "no such folder" in capsys.readouterr().err
