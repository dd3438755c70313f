"""The Insight-HXMT app: four stages over one observable model, with the job runner as controller.

Modules (each small, one job):

* :mod:`.model`: :class:`HxmtModel`, the state (archive, selection, instruments, parameters,
  results); no widgets;
* :mod:`.archive`: where observations are found (the local Level-1 folder or the data service);
* :mod:`.workflow` and :mod:`.runner`: each job's workflow with step fingerprints, and
  :class:`JobRunner`, which runs the jobs (Dask or in process) re-running only what changed;
* :mod:`.forms`, :mod:`.plots`, :mod:`.messages`: the instrument forms, the four plots, the words;
* ``stage_search``, ``stage_params``, ``stage_run``, ``stage_results``: one view each
  (a :class:`~daisy_widgets.widgets.stage.Stage`);
* :mod:`.hxmt_app`: :class:`HxmtApp`, which only composes them.

``from daisy_widgets.hxmt.app import HxmtApp`` builds the page (imported on first use, so
``hxmt.app.runner`` and ``hxmt.app.archive`` load without ipywidgets).
"""

from __future__ import annotations

from typing import Any

__all__ = ["HxmtApp", "main", "plain_error"]


def __getattr__(name: str) -> Any:
    if name in ("HxmtApp", "main"):
        from . import hxmt_app

        return getattr(hxmt_app, name)
    if name == "plain_error":
        from .messages import plain_error

        return plain_error
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
