"""The tomography app: eight stages over one observable model, with the workflow engine as controller.

Modules (each small, one job):

* :mod:`.model`: :class:`TomographyModel`, the state (scan handle, chosen parameters, results);
  no widgets;
* :mod:`.logic`: what the app computes, as plain functions (preprocessing a block of rows,
  the centre sweep, the volume's workflow options, errors in words, where the data is);
* :mod:`.controller` and :mod:`.jobs`: :class:`TomographyController`, what the buttons do
  (open, live preview, centre, motion, the volume as a workflow on the engine, save);
* ``stage_open``, ``stage_raw``, ``stage_preprocess``, ``stage_centre``, ``stage_motion``,
  ``stage_preview``, ``stage_reconstruct``, ``stage_result`` and ``preview_panel``: one view
  (a :class:`~daisy_widgets.widgets.stage.Stage`) each;
* :mod:`.tomography_app`: :class:`TomographyApp`, which only composes them.

``from daisy_widgets.tomography.app import TomographyApp`` builds the page (imported on
first use: the model, logic and controller load without ipywidgets' page classes).
"""

from __future__ import annotations

from typing import Any

__all__ = ["TomographyApp", "build_app", "STAGES"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import tomography_app

        return getattr(tomography_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
