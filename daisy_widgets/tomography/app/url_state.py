"""The tomography app's state in its address: ``?file=…&stage=centre&center=296.3``.

What goes in the link (:data:`PARAMS`): the scan (``file``: relative to the data folder when
inside it, else absolute; or a data-service entry ``tomography/<name>``), the stage shown
(``stage``: ``open``, ``raw``, ``preprocess``, ``centre``, ``motion``, ``preview``,
``reconstruct``, ``result``), the rotation axis (``center``, px), the preview row (``row``),
the preview's algorithm and filter, and a saved result (``result``: a file written by the
Result stage, reopened with its volume, its scan and its centre). :func:`state_of` reads
them from the app, :func:`apply_state` sets them (what opening a shared link does), and
:func:`follow_state` keeps a :class:`~daisy_widgets.widgets.url_state.CopyLink` current.

A link naming a file the user cannot read says so in the message bar, in words, and the app
stays usable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...widgets.url_state import CopyLink

#: the parameters of the link, in their order in the address
PARAMS = ("file", "result", "stage", "center", "row", "algorithm", "filter")
#: the model traits whose change rewrites the link
FOLLOWED = ("scan", "center", "preview_row", "algorithm", "filter", "volume")


def _stage_keys(app: Any) -> list[str]:
    return [key for key in app.stages if key != "panel"]  # the tabs' order


def _choices(name: str) -> tuple:
    from .model import algorithm_class

    params = {p.name: p for p in algorithm_class("tomo.reconstruct").params}
    return tuple(params[name].choices) if name in params else ()


def _file_param(app: Any, path: str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path(app.data_dir).resolve()))
    except (ValueError, OSError):
        return str(p)


def state_of(app: Any) -> dict[str, Any]:
    """The app's shareable state (see :data:`PARAMS`); None for what is not set."""
    m = app.model
    keys = _stage_keys(app)
    index = app.tabs.selected_index
    vol = m.volume
    saved = m.saved_paths[-1] if m.saved_paths and vol is not None else None
    return {
        "file": _file_param(app, str(m.scan.path)) if m.scan is not None else None,
        "result": saved,
        "stage": keys[index] if index is not None and 0 <= index < len(keys) else None,
        "center": round(float(m.center), 3) if m.center is not None else None,
        "row": int(m.preview_row) if m.scan is not None else None,
        "algorithm": m.algorithm,
        "filter": m.filter,
    }


def unreadable(path: Path) -> str | None:
    """Why the user cannot read ``path`` (in words), or None when they can."""
    if not path.exists():
        return f"{path} does not exist (or is not visible to you)"
    if not os.access(path, os.R_OK):
        return f"you do not have permission to read {path}"
    return None


def _local_path(app: Any, text: str) -> Path:
    p = Path(os.path.expanduser(text))
    return p if p.is_absolute() else Path(app.data_dir) / p


def _open_result(app: Any, path: Path) -> bool:
    from ..io import read_recon
    from .model import VolumeResult

    c = app.controller
    try:
        volume, attrs = read_recon(path)
    except Exception as exc:
        c.error(exc)
        return False
    params = {k: (v.item() if hasattr(v, "item") else v) for k, v in attrs.items()}
    input_path = params.pop("input_path", None)
    if input_path and unreadable(Path(str(input_path))) is None:
        c.open_scan(str(input_path))
    first = int(str(params.get("slices", "0:")).split(":")[0] or 0)
    center = params.get("center")
    not_applied = ""
    if center is not None and app.model.scan is not None:
        try:
            c.set_center(float(center), str(params.get("center_method") or "from the result file"))
        except Exception as exc:  # the volume still opens; the message says what was not restored
            not_applied = f" Its centre {center!r} was not applied: {exc}"
    app.model.volume = VolumeResult(volume, params, first, input_path)
    app.model.saved_paths = [*app.model.saved_paths, str(path)]
    c.info(f"Reopened the result {path.name} ({volume.shape[0]} slices).{not_applied}")
    return True


def apply_state(app: Any, params: dict[str, str]) -> list[str]:
    """Open what a shared link names and set its parameters; returns the problems (also shown in the app).

    Parameters
    ----------
    app
        The :class:`~.tomography_app.TomographyApp`.
    params
        The link's parameters (:func:`~daisy_widgets.widgets.url_state.query_params`).
    """
    c, m = app.controller, app.model
    problems: list[str] = []
    result = params.get("result")
    if result:
        path = _local_path(app, result)
        why = unreadable(path)
        if why:
            problems.append(f"the shared result cannot be opened: {why}")
        else:
            _open_result(app, path)
    file = params.get("file")
    if file and not result:
        path = _local_path(app, file)
        why = unreadable(path)
        if why is None:
            c.open_scan(str(path))
        elif file.startswith("tomography/") and c.service_url:
            c.open_scan(file)  # a data-service entry
        else:
            problems.append(f"the shared scan cannot be opened: {why}")
    if m.scan is not None:
        for name, convert in (("center", float), ("row", int)):
            if name in params:
                try:
                    value = convert(params[name])
                    if name == "center":
                        c.set_center(value, "from the shared link")
                    elif 0 <= value < m.scan.shape[1]:
                        m.preview_row = value
                    else:
                        raise ValueError(f"row {value} is outside 0..{m.scan.shape[1] - 1}")
                except Exception as exc:
                    problems.append(f"the link's {name} {params[name]!r} was not used: {exc}")
    for name in ("algorithm", "filter"):
        if name in params:
            allowed = _choices(name)
            if params[name] in allowed:
                setattr(m, name, params[name])
            else:
                problems.append(f"the link's {name} {params[name]!r} is not one of {', '.join(allowed)}")
    stage = params.get("stage")
    keys = _stage_keys(app)
    if stage in keys:
        app.show_stage(keys.index(stage))
    elif stage:
        problems.append(f"the link's stage {stage!r} is not one of {', '.join(keys)}")
    if problems:
        c.error("; ".join(problems))
    return problems


def follow_state(app: Any, link: CopyLink) -> None:
    """Keep ``link`` (and the address bar) on the app's current state."""

    def update(_change: Any = None) -> None:
        link.set_state(state_of(app))

    app.model.observe(update, names=list(FOLLOWED))
    app.model.observe(update, names="saved_paths")
    app.tabs.observe(update, names="selected_index")
    update()


__all__ = ["FOLLOWED", "PARAMS", "apply_state", "follow_state", "state_of", "unreadable"]
