"""The open stage's layout form: for a file no reader recognises, its candidates, pre-filled.

Shown while ``model.layout_form`` holds an inspection (see :mod:`.layout_choice`):
the frame datasets, image keys and angle arrays found in the file as choices
(the best guess picked), the flats/darks, the angle unit, the equivalent
``daisy tomo recon`` command, and *Open with this layout*, which opens the scan
and remembers the layout for every file named like it (``scan_*.nxs``).
"""

from __future__ import annotations

import html
import os
from typing import Any

import ipywidgets as W

from ...widgets.stage import Stage
from ..io import Layout, name_pattern, recon_command

_WIDE = W.Layout(width="420px")


def _label(c: dict[str, Any]) -> str:
    shape = " × ".join(str(v) for v in c.get("shape", []))
    extra = "  ".join(x for x in (c.get("link", ""), c.get("note", "")) if x)
    return f"{c['name']}  ({shape} {c.get('dtype', '')})" + (f"  {extra}" if extra else "")


def _split(text: str) -> list[str] | None:
    parts = [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]
    return parts or None


class LayoutForm(Stage):
    """The layout form of the open stage (a part of it, rendered with it).

    Widgets: ``data``, ``image_key``, ``angles``, ``angles_unit``, ``flats``, ``darks``,
    ``flats_path``, ``darks_path``, ``remember``, ``command``, ``problems``, ``open_button``.
    """

    title = "layout"

    def _render(self) -> list[W.Widget]:
        style = {"description_width": "90px"}
        self.heading = W.HTML()
        self.data = W.Dropdown(description="frames", options=[], style=style, layout=_WIDE)
        self.image_key = W.Dropdown(
            description="image key", options=[("(none)", "")], style=style, layout=_WIDE
        )
        self.angles = W.Combobox(
            description="angles",
            placeholder="dataset, text file or START:STOP:N",
            ensure_option=False,
            style=style,
            layout=_WIDE,
        )
        self.angles_unit = W.Dropdown(
            description="unit",
            options=[("from the file (else degrees)", ""), ("degrees", "deg"), ("radians", "rad")],
            style=style,
            layout=_WIDE,
        )
        self.flats = W.Text(
            description="flats", placeholder="(from the image key)", style=style, layout=_WIDE
        )
        self.darks = W.Text(
            description="darks", placeholder="(from the image key)", style=style, layout=_WIDE
        )
        self.flats_path = W.Text(
            description="flats path",
            placeholder="(dataset in separate flat files)",
            style=style,
            layout=_WIDE,
        )
        self.darks_path = W.Text(
            description="darks path",
            placeholder="(dataset in separate dark files)",
            style=style,
            layout=_WIDE,
        )
        self.remember = W.Checkbox(value=True, description="remember for files named like this", indent=False)
        self.problems = W.HTML()
        self.command = W.HTML()
        self.open_button = W.Button(
            description="Open with this layout",
            icon="folder-open",
            button_style="primary",
            layout=W.Layout(width="220px"),
        )
        self.open_button.add_class("daisy-tomo-layout-open")
        self.open_button.on_click(lambda _b: self.controller.guard(self.open_chosen))
        for w in (self.data, self.image_key, self.angles, self.angles_unit, self.flats, self.darks):
            w.observe(lambda _c: self._show_command(), names="value")
        for w in (self.flats_path, self.darks_path):
            w.observe(lambda _c: self._show_command(), names="value")
        self.observe_model(lambda _c: self.refresh(), "layout_form")
        self.add_class("daisy-tomo-layout-form")
        return [
            self.heading,
            self.data,
            self.image_key,
            self.angles,
            self.angles_unit,
            self.flats,
            self.darks,
            self.flats_path,
            self.darks_path,
            self.problems,
            self.command,
            W.HBox([self.open_button, self.remember]),
        ]

    # -- model -> form -------------------------------------------------------------------
    def inspection(self) -> dict[str, Any]:
        """The inspection waiting for a layout (``model.layout_form``), {} when none."""
        model = getattr(self, "model", None)  # (ipywidgets may look at attributes before __init__ ends)
        return dict(model.layout_form or {}) if model is not None else {}

    def refresh(self) -> None:
        form = self.inspection()
        self.layout.display = "" if form else "none"
        if not form:
            return
        lay = Layout.from_dict(form.get("layout", {}))
        tiff = lay.kind == "tiff" or form.get("kind") == "tiff"
        path = form.get("path", "")
        self.heading.value = (
            f"<b>Layout of {html.escape(os.path.basename(path.rstrip('/')) or path)}</b> "
            "<span style='color:#555'>(not Data Exchange or NXtomo: pick where each part is)</span>"
        )
        frames = [(_label(c), c["name"]) for c in form.get("frames", [])]
        self.data.options = frames or [("(no 3-D dataset)", "")]
        self.data.value = lay.data if lay.data in [v for _, v in frames] else self.data.options[0][1]
        keys = [("(none)", "")] + [(_label(c), c["name"]) for c in form.get("keys", [])]
        self.image_key.options = keys
        self.image_key.value = lay.image_key if lay.image_key in [v for _, v in keys] else ""
        self.angles.options = [c["name"] for c in form.get("angles", [])]
        self.angles.value = lay.angles or ""
        self.angles_unit.value = lay.angles_unit or ""
        self.flats.value = ", ".join(lay.flats or [])
        self.darks.value = ", ".join(lay.darks or [])
        self.flats_path.value = lay.flats_path or ""
        self.darks_path.value = lay.darks_path or ""
        for w in (self.data, self.image_key, self.flats_path, self.darks_path):
            w.layout.display = "none" if tiff else ""
        self.remember.description = f"remember for {name_pattern(path)}"
        problems = form.get("problems", [])
        self.problems.value = "".join(
            f"<div style='color:#8a1c12;font-size:12px'>{html.escape(p)}</div>" for p in problems
        )
        self._show_command()

    # -- form -> layout --------------------------------------------------------------------
    def chosen_layout(self) -> Layout:
        """The layout the form shows now."""
        form = self.inspection()
        kind = "tiff" if form.get("kind") == "tiff" else "paths"
        return Layout(
            kind=kind,
            data=(self.data.value or None) if kind != "tiff" else None,
            image_key=(self.image_key.value or None) if kind != "tiff" else None,
            angles=self.angles.value.strip() or None,
            angles_unit=self.angles_unit.value or None,
            flats=_split(self.flats.value),
            darks=_split(self.darks.value),
            flats_path=(self.flats_path.value.strip() or None) if kind != "tiff" else None,
            darks_path=(self.darks_path.value.strip() or None) if kind != "tiff" else None,
        )

    def _show_command(self) -> None:
        path = self.inspection().get("path", "")
        if not path:
            return
        cmd = recon_command(path, self.chosen_layout())
        self.command.value = (
            "<div style='font-size:12px;color:#555'>the same from a terminal:</div>"
            f"<code style='font-size:12px'>{html.escape(cmd)}</code>"
        )

    def open_chosen(self) -> Any:
        """Open the file with the chosen layout (and remember it when the box is ticked)."""
        path = self.inspection().get("path")
        if not path:
            raise ValueError("no file waiting for a layout: open a file first")
        return self.controller.open_with_layout(path, self.chosen_layout(), remember=self.remember.value)


__all__ = ["LayoutForm"]
