"""HxmtApp: errors in plain words (bad GTI expression at the field, empty GTI, no data, missing files),
and the app keeps working afterwards."""

from __future__ import annotations

import shutil


def test_bad_gti_expression_is_shown_at_the_field_and_blocks_run(he_app):
    app = he_app
    f = app.forms["HE"]
    f.set("gtigen", expr="ELV>10 && NOPE<3")
    err = f.gtigen.errors["expr"].value
    assert "NOPE" in err and "⚠" in err
    assert app.run_button.disabled and "HE parameters" in app.run_message.value
    assert app.run() is None and "Cannot run" in app.run_message.value
    f.set("gtigen", expr="ELV>10 &&")  # a syntax error as typed
    assert "end of expression" in f.gtigen.errors["expr"].value
    f.set("gtigen", expr="ELV>10&&COR>8&&SAA_FLAG==0")
    assert f.gtigen.errors["expr"].value == "" and not app.run_button.disabled
    app.run(wait=True)
    assert app.progress.status.value == "done" and app.lc_plot.points > 0


def test_pi_range_outside_the_band_is_shown_at_the_field(he_app):
    app = he_app
    app.forms["HE"].set("screen", pi_min=10, pi_max=900)
    assert app.forms["HE"].screen.errors["pi_min"].value or app.forms["HE"].screen.errors["pi_max"].value
    assert app.run_button.disabled


def test_empty_gti_says_so_and_the_app_still_runs(he_app):
    app = he_app
    app.forms["HE"].set("gtigen", expr="ELV>100 && ELV<0")
    app.run(wait=True)
    assert "no good time" in app.run_message.value and "Failed" in app.run_message.value
    assert "good time intervals failed" in app.run_message.value  # the step in words
    assert app.progress.status.value == "failed" and not app.run_button.disabled
    assert app.lc_plot.points == 0
    app.forms["HE"].set("gtigen", expr="ELV>10&&COR>8&&SAA_FLAG==0&&T_SAA>300&&TN_SAA>300&&ANG_DIST<=0.04")
    app.run(wait=True)
    assert "Done" in app.run_message.value and app.lc_plot.points > 0


def test_nothing_selected_or_no_instrument(make_app):
    app = make_app()
    assert app.run() is None and "pick at least one observation" in app.run_message.value
    app.search(obs_id="P0101299002")
    app.instruments = []
    assert app.run() is None and "tick at least one instrument" in app.run_message.value
    app.instruments = ["LE"]  # this observation has no LE
    assert app.run() is None and "has the ticked instruments" in app.run_message.value


def test_missing_level1_file_is_named(make_app, data_root, tmp_path):
    from daisy_widgets.hxmt.app.archive import LocalArchive

    copy = tmp_path / "copy"
    shutil.copytree(data_root / "data" / "hxmt" / "P0101299002", copy / "P0101299002")
    app = make_app(archive=LocalArchive(copy))
    app.search(target="crab")
    app.table.select([0])
    for p in copy.rglob("*EHK*"):
        p.unlink()
    app.run(wait=True)
    msg = app.run_message.value
    assert "Reading the Level-1 files failed" in msg and "EHK" in msg and "AUX" in msg
    assert not app.run_button.disabled
