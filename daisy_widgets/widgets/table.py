"""A sortable, multi-select results table (ipywidgets, no technique knowledge).

Rows are dictionaries; columns are declared once with a key, a title and an
optional formatter. Clicking a column title sorts by it (a second click
reverses); each row has a check box, and :attr:`ResultsTable.selected` gives
the chosen rows in table order.

Example::

    table = ResultsTable([Column("target", "Target"), Column("exposure", "Exposure (s)", "{:.0f}")])
    table.rows = [{"target": "Crab", "exposure": 1500.0}, {"target": "Cyg X-1", "exposure": 800.0}]
    table.sort_by("exposure")
    table.select([0])
    table.selected          # [{"target": "Cyg X-1", ...}]

CSS classes (for styling and browser tests): ``daisy-table`` on the widget,
``daisy-table-header`` on each column title button, ``daisy-table-row`` on each
row and ``daisy-table-check`` on each row's check box.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as W


@dataclass(frozen=True)
class Column:
    """One column: the row key, its title, and a format (a ``str.format`` pattern or a callable)."""

    key: str
    title: str
    fmt: str | Callable[[Any], str] | None = None
    width: str = "auto"

    def text(self, row: dict) -> str:
        v = row.get(self.key)
        if v is None:
            return ""
        if callable(self.fmt):
            return self.fmt(v)
        if isinstance(self.fmt, str):
            try:
                return self.fmt.format(v)
            except (ValueError, TypeError):
                return str(v)
        if isinstance(v, (list, tuple)):
            return ", ".join(map(str, v))
        return str(v)


def _sort_key(v: Any) -> tuple:
    # None last; numbers before text; text case-insensitive
    if v is None:
        return (2, 0, "")
    if isinstance(v, (int, float)):
        return (0, float(v), "")
    if isinstance(v, (list, tuple)):
        return (1, 0, ",".join(map(str, v)).lower())
    return (1, 0, str(v).lower())


class ResultsTable(W.VBox):
    """A table of rows with sortable columns and a check box per row.

    Parameters
    ----------
    columns
        The columns to show, in order.
    rows
        Initial rows (dictionaries keyed by the columns' keys; other keys are kept).
    multiple
        Allow several selected rows (otherwise checking one unchecks the others).
    on_select
        Called with the list of selected rows whenever the selection changes.
    """

    def __init__(
        self,
        columns: Sequence[Column],
        rows: Sequence[dict] = (),
        *,
        multiple: bool = True,
        on_select: Callable[[list[dict]], None] | None = None,
        empty_text: str = "no rows",
        **kw: Any,
    ):
        self.columns = list(columns)
        self.multiple = multiple
        self._callbacks: list[Callable[[list[dict]], None]] = [on_select] if on_select else []
        self._rows: list[dict] = []
        self._checked: list[bool] = []
        self.sort_key: str | None = None
        self.sort_reverse = False
        self.empty_text = empty_text
        self._grid = W.GridBox(
            layout=W.Layout(
                grid_template_columns=self._template(),
                grid_gap="0px 8px",
                max_height="260px",
                overflow="auto",
            )
        )
        self.status = W.HTML(value="")
        self._select_all = W.Button(
            description="all", layout=W.Layout(width="50px"), tooltip="select every row"
        )
        self._select_all.on_click(lambda _b: self.select(range(len(self._rows))))
        self._select_none = W.Button(
            description="none", layout=W.Layout(width="60px"), tooltip="clear the selection"
        )
        self._select_none.on_click(lambda _b: self.select([]))
        super().__init__(
            children=[self._grid, W.HBox([self._select_all, self._select_none, self.status])], **kw
        )
        self.add_class("daisy-table")
        self._boxes: list[W.Checkbox] = []
        self._mute = False
        self.rows = list(rows)

    def _template(self) -> str:
        return "28px " + " ".join(c.width if c.width != "auto" else "max-content" for c in self.columns)

    # -- data ----------------------------------------------------------------------
    @property
    def rows(self) -> list[dict]:
        """The rows in display order."""
        return list(self._rows)

    @rows.setter
    def rows(self, rows: Sequence[dict]) -> None:
        self._rows = [dict(r) for r in rows]
        self._checked = [False] * len(self._rows)
        if self.sort_key is not None:
            self._apply_sort()
        self._render()
        self._notify()

    @property
    def selected(self) -> list[dict]:
        """The checked rows, in display order."""
        return [r for r, c in zip(self._rows, self._checked, strict=False) if c]

    @property
    def selected_indices(self) -> list[int]:
        return [i for i, c in enumerate(self._checked) if c]

    def select(self, indices: Sequence[int] | range) -> None:
        """Check exactly the rows at ``indices`` (display order)."""
        want = set(indices)
        if not self.multiple and len(want) > 1:
            want = {min(want)}
        self._checked = [i in want for i in range(len(self._rows))]
        self._mute = True
        try:
            for i, b in enumerate(self._boxes):
                b.value = self._checked[i]
        finally:
            self._mute = False
        self._notify()

    def select_where(self, predicate: Callable[[dict], bool]) -> None:
        self.select([i for i, r in enumerate(self._rows) if predicate(r)])

    # -- sorting -------------------------------------------------------------------
    def sort_by(self, key: str, reverse: bool | None = None) -> None:
        """Sort by column ``key``; without ``reverse``, a second call on the same key flips the order."""
        if key not in {c.key for c in self.columns}:
            raise KeyError(f"no column {key!r}; columns: {', '.join(c.key for c in self.columns)}")
        if reverse is None:
            reverse = (not self.sort_reverse) if self.sort_key == key else False
        self.sort_key, self.sort_reverse = key, reverse
        self._apply_sort()
        self._render()

    def _apply_sort(self) -> None:
        pairs = list(zip(self._rows, self._checked, strict=False))
        pairs.sort(key=lambda p: _sort_key(p[0].get(self.sort_key)), reverse=self.sort_reverse)
        self._rows = [p[0] for p in pairs]
        self._checked = [p[1] for p in pairs]

    # -- rendering -----------------------------------------------------------------
    def _header(self, col: Column) -> W.Button:
        arrow = ""
        if self.sort_key == col.key:
            arrow = " ▼" if self.sort_reverse else " ▲"
        b = W.Button(
            description=col.title + arrow,
            tooltip=f"sort by {col.title}",
            layout=W.Layout(width="auto", height="28px"),
        )
        b.style.font_weight = "bold"
        b.add_class("daisy-table-header")
        b.on_click(lambda _b, k=col.key: self.sort_by(k))
        return b

    def _render(self) -> None:
        cells: list[W.Widget] = [W.HTML("")] + [self._header(c) for c in self.columns]
        self._boxes = []
        for i, row in enumerate(self._rows):
            box = W.Checkbox(value=self._checked[i], indent=False, layout=W.Layout(width="24px"))
            box.add_class("daisy-table-check")
            box.observe(lambda ch, i=i: self._toggled(i, ch["new"]), names="value")
            self._boxes.append(box)
            cells.append(box)
            for c in self.columns:
                lab = W.Label(value=c.text(row))
                lab.add_class("daisy-table-row")
                lab.add_class(f"daisy-table-row-{i}")
                cells.append(lab)
        self._grid.layout.grid_template_columns = self._template()
        self._grid.children = cells
        self.status.value = (
            f"<i>{len(self._rows)} row{'s' if len(self._rows) != 1 else ''}</i>"
            if self._rows
            else f"<i>{self.empty_text}</i>"
        )

    def _toggled(self, i: int, value: bool) -> None:
        if self._mute:
            return
        if not self.multiple and value:
            self.select([i])
            return
        self._checked[i] = bool(value)
        self._notify()

    def on_select(self, callback: Callable[[list[dict]], None]) -> None:
        self._callbacks.append(callback)

    def _notify(self) -> None:
        sel = self.selected
        for cb in self._callbacks:
            cb(sel)
