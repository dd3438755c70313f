"""HxmtApp, step 1: the search form, its errors at the fields, the results table, the source label."""

from __future__ import annotations

from daisy_widgets.hxmt.app.archive import ServiceArchive


def test_search_crab_finds_the_demo_observations(make_app):
    app = make_app()
    assert "local data folder" in app.source.value and "no data service" in app.source.value
    rows = app.search(target="Crab")
    assert len(rows) == 2 and len(app.table.rows) == 2
    assert "2 observations found" in app.search_message.value
    assert app.run_button.disabled  # nothing picked yet
    app.table.select([0, 1])
    assert "2 observations selected" in app.selection_note.value and not app.run_button.disabled


def test_table_sorts_by_start(make_app):
    app = make_app()
    app.search(target="crab")
    app.table.sort_by("start")
    assert [r["obs_id"] for r in app.table.rows] == ["P0101299001", "P0101299002"]
    app.table.sort_by("start")
    assert [r["obs_id"] for r in app.table.rows] == ["P0101299002", "P0101299001"]


def test_single_hit_is_selected(make_app):
    app = make_app()
    app.search(obs_id="P0101299002")
    assert [r["obs_id"] for r in app.table.selected] == ["P0101299002"]


def test_no_match_says_so(make_app):
    app = make_app()
    assert app.search(target="Vela") == []
    assert "No observations" in app.search_message.value and "local data folder" in app.search_message.value


def test_bad_fields_show_errors_at_the_field(make_app):
    app = make_app()
    app.search(target="Crab", ra="83.6", dec="abc", radius="", start="soon")
    assert "expected a number" in app.search_errors["dec"].value
    assert "cone search needs" in app.search_errors["radius"].value
    assert "ISO date" in app.search_errors["start"].value
    assert app.search_errors["target"].value == ""
    assert "Fix the marked" in app.search_message.value
    # and the form works again once fixed
    assert len(app.search(dec="22.0", radius="1", start="")) == 2
    assert app.search_errors["dec"].value == ""


def test_service_down_keeps_the_app_usable(make_app, data_root):
    app = make_app(archive=ServiceArchive("http://127.0.0.1:9/api", "key"))
    assert "data service http://127.0.0.1:9/api" in app.source.value
    assert app.search(target="Crab") == []
    assert "not available" in app.search_message.value
    assert app.local_button.layout.display != "none"
    app.use_local(data_root)
    assert "local data folder" in app.source.value
    assert len(app.search(target="Crab")) == 2


def test_results_come_a_page_at_a_time(make_app, monkeypatch):
    from daisy_widgets.hxmt.app import stage_search

    monkeypatch.setattr(stage_search, "PAGE_ROWS", 1)
    app = make_app()
    first = app.search(target="Crab")
    assert len(first) == 1 and len(app.table.rows) == 1
    stage = app.stages["search"]
    assert stage.more_button.layout.display == "" and "first 1 observations shown" in app.search_message.value
    app.table.select([0])
    second = stage.more()
    assert len(second) == 1 and second[0]["obs_id"] != first[0]["obs_id"]
    assert len(app.table.rows) == 2 and [r["obs_id"] for r in app.table.selected] == [first[0]["obs_id"]]
    assert stage.more() == []  # nothing left: the button goes
    assert stage.more_button.layout.display == "none" and "2 observations found" in app.search_message.value
    assert len(app.table.rows) == 2
