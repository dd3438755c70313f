"""widgets/table.py: sortable, multi-select results table."""

from __future__ import annotations

import pytest

from daisy_widgets.widgets.table import Column, ResultsTable

ROWS = [
    {"target": "Crab", "exposure": 1500.0, "obs": "P2"},
    {"target": "cyg X-1", "exposure": 800.0, "obs": "P1"},
    {"target": "Aql X-1", "exposure": None, "obs": "P3"},
]
COLS = [Column("target", "Target"), Column("exposure", "Exposure (s)", "{:.0f}"), Column("obs", "ObsID")]


def test_rows_render_with_formats():
    t = ResultsTable(COLS, ROWS)
    texts = [w.value for w in t._grid.children if hasattr(w, "value") and isinstance(w.value, str)]
    assert "1500" in texts and "800" in texts and "Crab" in texts
    assert "3 rows" in t.status.value


def test_sort_by_number_text_and_reverse():
    t = ResultsTable(COLS, ROWS)
    t.sort_by("exposure")
    assert [r["obs"] for r in t.rows] == ["P1", "P2", "P3"]  # missing values last
    t.sort_by("exposure")  # second click reverses
    assert t.sort_reverse and [r["obs"] for r in t.rows] == ["P3", "P2", "P1"]
    t.sort_by("target", reverse=False)  # case-insensitive text
    assert [r["target"] for r in t.rows] == ["Aql X-1", "Crab", "cyg X-1"]


def test_header_click_sorts():
    t = ResultsTable(COLS, ROWS)
    header = [w for w in t._grid.children if "daisy-table-header" in getattr(w, "_dom_classes", ())][2]
    header.click()
    assert t.sort_key == "obs" and [r["obs"] for r in t.rows] == ["P1", "P2", "P3"]


def test_multi_select_survives_sorting_and_reports():
    seen = []
    t = ResultsTable(COLS, ROWS, on_select=seen.append)
    t.select([0, 2])
    assert [r["obs"] for r in t.selected] == ["P2", "P3"]
    t.sort_by("obs")
    assert [r["obs"] for r in t.selected] == ["P2", "P3"]
    # ticking a box is a selection too
    t._boxes[0].value = True
    assert [r["obs"] for r in t.selected] == ["P1", "P2", "P3"]
    assert seen[-1] == t.selected


def test_single_select_mode():
    t = ResultsTable(COLS, ROWS, multiple=False)
    t._boxes[0].value = True
    t._boxes[1].value = True
    assert len(t.selected) == 1 and t.selected[0] is t.rows[1]


def test_new_rows_clear_selection_and_unknown_column():
    t = ResultsTable(COLS, ROWS)
    t.select([1])
    t.rows = ROWS[:1]
    assert t.selected == []
    with pytest.raises(KeyError, match="no column 'nope'"):
        t.sort_by("nope")
