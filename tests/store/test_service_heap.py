"""The data service keeps the heap its imports and set-up left out of the cyclic collector's
generations (``gc.freeze`` before serving), so full collections during requests stay short."""

from __future__ import annotations

import gc
import sys

fx = sys.modules["daisy_store_fixtures"]


def test_serve_freezes_the_startup_heap_before_serving(tmp_path, monkeypatch):
    import uvicorn

    from daisy_widgets.store import server

    fx.write_data_folder(tmp_path / "data")
    seen: dict = {}

    def run(app, **kwargs):
        seen["frozen"] = gc.get_freeze_count()
        seen["app"] = app

    monkeypatch.setattr(uvicorn, "run", run)
    before = gc.get_freeze_count()
    try:
        server.serve(tmp_path / "data", port=1, state=tmp_path / "state", log=lambda s: None)
        assert seen["app"] is not None
        assert seen["frozen"] > before + 10_000  # the imported heap (Tiled, SQLAlchemy, ...) is frozen
    finally:
        gc.unfreeze()  # this test process goes on collecting as before
