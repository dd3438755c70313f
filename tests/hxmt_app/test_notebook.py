"""apps/hxmt.ipynb: thin (title + one-line description, then build and display HxmtApp) and it runs."""

from __future__ import annotations

import json
from pathlib import Path

NB = Path(__file__).resolve().parents[2] / "apps" / "hxmt.ipynb"


def test_first_cell_is_title_and_description():
    cells = json.loads(NB.read_text())["cells"]
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown"
    lines = [ln for ln in first.splitlines() if ln.strip()]
    assert lines[0].startswith("# ") and "HXMT" in lines[0] and len(lines) == 2
    assert [c["cell_type"] for c in cells[1:]] == ["code"]


def test_code_cell_builds_the_app(monkeypatch, tmp_path):
    monkeypatch.delenv("DAISY_TILED_URL", raising=False)
    monkeypatch.setenv("DAISY_DATA_DIR", str(tmp_path))
    from daisy_widgets.hxmt.app import HxmtApp

    ns: dict = {}
    exec("".join(json.loads(NB.read_text())["cells"][1]["source"]), ns)
    assert isinstance(ns["app"], HxmtApp) and ns["app"].runner.engine == "dask"
    assert str(tmp_path) in ns["app"].source.value
