"""Stage 1 of the HXMT app, Find data: search the archive by target, ObsID, cone and time; tick rows."""

from __future__ import annotations

import html
import os
from typing import Any

import ipywidgets as W

from ...core.errors import ValidationError
from ...widgets.stage import Stage
from ...widgets.table import Column, ResultsTable
from .archive import ArchiveUnavailable, LocalArchive, Query, default_data_dir
from .help_texts import stage_help
from .messages import plain_error, say

#: matches fetched per search (and per "More results")
PAGE_ROWS = 100

COLUMNS = [
    Column("target", "Target"),
    Column("obs_id", "ObsID"),
    Column("exp_id", "ExpID"),
    Column("start", "Start (UTC)"),
    Column("stop", "Stop (UTC)"),
    Column("exposure", "Exposure (s)", "{:.0f}"),
    Column("instruments", "Instruments"),
    Column("ra", "RA (deg)", "{:.3f}"),
    Column("dec", "Dec (deg)", "{:.3f}"),
]


def _opt_float(text: str, name: str, problems: dict) -> float | None:
    t = (text or "").strip()
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        problems[name] = [f"expected a number; got {t!r}"]
        return None


class SearchStage(Stage):
    """Find data: the search form over ``model.archive``; the results are ``model.rows`` and the
    ticked ones ``model.selected``. A data service that is down offers the local folder instead."""

    title = "1. Find data"
    help_text, help_algorithms, help_docs = stage_help("search")

    def _render(self) -> list[W.Widget]:
        st = {"description_width": "90px"}
        short = W.Layout(width="200px")
        self.target = W.Text(description="Target", placeholder="e.g. Crab", style=st)
        self.target.add_class("daisy-hxmt-target")
        self.obs_id = W.Text(description="ObsID", placeholder="e.g. P0101299001", style=st)
        self.ra = W.Text(description="RA (deg)", placeholder="cone centre", style=st, layout=short)
        self.dec = W.Text(description="Dec (deg)", placeholder="cone centre", style=st, layout=short)
        self.radius = W.Text(description="radius (deg)", placeholder="e.g. 1", style=st, layout=short)
        self.start = W.Text(description="from", placeholder="2018-03-01 or mission s", style=st)
        self.stop = W.Text(description="to", placeholder="2018-03-31 or mission s", style=st)
        self.search_fields = {
            "target": self.target,
            "obs_id": self.obs_id,
            "ra": self.ra,
            "dec": self.dec,
            "radius": self.radius,
            "start": self.start,
            "stop": self.stop,
        }
        self.search_errors = {k: W.HTML("") for k in self.search_fields}
        for k, e in self.search_errors.items():
            e.add_class("daisy-param-error")
            e.add_class(f"daisy-hxmt-search-error-{k}")
        self.search_button = W.Button(description="Search", icon="search", button_style="primary")
        self.search_button.add_class("daisy-hxmt-search")
        self.search_button.on_click(lambda _b: self.search())
        self.source = W.HTML("")
        self.source.add_class("daisy-hxmt-source")
        self.local_button = W.Button(
            description="Use local data folder",
            icon="folder-open",
            tooltip="search the local Level-1 folder instead of the data service",
            layout=W.Layout(display="none"),
        )
        self.local_button.on_click(lambda _b: self.use_local())
        self.search_message = W.HTML("")
        self.search_message.add_class("daisy-hxmt-search-message")
        self.more_button = W.Button(
            description="More results",
            icon="angle-double-down",
            tooltip=f"the next {PAGE_ROWS} matches",
            layout=W.Layout(display="none"),
        )
        self.more_button.add_class("daisy-hxmt-search-more")
        self.more_button.on_click(lambda _b: self.more())
        self._last_query: Query | None = None
        self.table = ResultsTable(COLUMNS, empty_text="no search yet", on_select=self._selection_changed)
        self.observe_model(lambda _c: self._show_source(), "archive")
        row = lambda *ws: W.HBox(list(ws))  # noqa: E731
        errors = self.search_errors
        return [
            self.source,
            row(self.target, errors["target"]),
            row(self.obs_id, errors["obs_id"]),
            row(self.ra, self.dec, self.radius, W.VBox([errors[k] for k in ("ra", "dec", "radius")])),
            row(self.start, self.stop, W.VBox([errors["start"], errors["stop"]])),
            row(self.search_button, self.local_button, self.search_message),
            self.table,
            self.more_button,
        ]

    def refresh(self) -> None:
        self._show_source()

    def _show_source(self) -> None:
        archive = self.model.archive
        local = isinstance(archive, LocalArchive)
        color = "#8a5a00" if local else "#555"
        self.source.value = f"<span style='color:{color}'>Searching: {html.escape(archive.label)}</span>"

    def _selection_changed(self, rows: list[dict]) -> None:
        self.model.selected = list(rows)

    def use_local(self, data_dir: str | os.PathLike | None = None) -> None:
        """Search a local Level-1 folder instead (e.g. when the data service is down)."""
        self.model.archive = LocalArchive(data_dir or default_data_dir())
        self.local_button.layout.display = "none"
        self.search_message.value = ""

    def query(self) -> Query:
        """The query of the search fields (raises ValidationError naming the bad fields)."""
        problems: dict[str, list[str]] = {}
        q = Query(
            target=self.target.value.strip(),
            obs_id=self.obs_id.value.strip(),
            ra=_opt_float(self.ra.value, "ra", problems),
            dec=_opt_float(self.dec.value, "dec", problems),
            radius=_opt_float(self.radius.value, "radius", problems),
            start=self.start.value.strip() or None,
            stop=self.stop.value.strip() or None,
        )
        for k, v in q.problems().items():
            problems.setdefault(k, []).extend(v)
        if problems:
            raise ValidationError("search", problems)
        return q

    def search(self, **fields: Any) -> list[dict]:
        """Search with the form (fields given here are typed in first); fills :attr:`table`."""
        for k, v in fields.items():
            self.search_fields[k].value = "" if v is None else str(v)
        for e in self.search_errors.values():
            e.value = ""
        self.search_message.value = ""
        self.more_button.layout.display = "none"
        archive = self.model.archive
        try:
            query = self.query()
            rows = archive.search(query, limit=PAGE_ROWS)
        except ValidationError as exc:
            for k, msgs in exc.problems.items():
                if k in self.search_errors:
                    text = html.escape("; ".join(msgs))
                    self.search_errors[k].value = f"<span style='color:#c00'>⚠ {text}</span>"
            return self._no_rows("Fix the marked search fields.")
        except ArchiveUnavailable as exc:
            self.local_button.layout.display = "" if not isinstance(archive, LocalArchive) else "none"
            return self._no_rows(f"The data service is not available: {exc}")
        except Exception as exc:
            return self._no_rows(f"Search failed: {plain_error(exc)}")
        self._last_query = query
        self.table.empty_text = "no observations match"
        self.table.rows = rows
        self.model.rows = list(rows)
        self.model.selected = list(self.table.selected)
        if not rows:
            where = "the local data folder" if isinstance(archive, LocalArchive) else "the data service"
            say(self.search_message, f"No observations in {where} match this search.", error=True)
        else:
            self._say_found(len(rows), more=len(rows) == PAGE_ROWS)
            if len(rows) == 1:
                self.table.select([0])
        return rows

    def more(self) -> list[dict]:
        """The next page of matches of the last search, added below the rows shown; returns the new rows."""
        if self._last_query is None:
            return []
        have = list(self.model.rows)
        try:
            new = self.model.archive.search(self._last_query, limit=PAGE_ROWS, offset=len(have))
        except ArchiveUnavailable as exc:
            say(self.search_message, f"The data service is not available: {exc}", error=True)
            return []
        except Exception as exc:
            say(self.search_message, f"Search failed: {plain_error(exc)}", error=True)
            return []
        selected = list(self.table.selected)
        self.table.rows = have + new
        self.model.rows = have + new
        if selected:
            self.table.select_where(lambda r: r in selected)
        self.model.selected = list(self.table.selected)
        self._say_found(len(have) + len(new), more=len(new) == PAGE_ROWS)
        return new

    def _say_found(self, n: int, more: bool) -> None:
        self.more_button.layout.display = "" if more else "none"
        shown = f"first {n} observations shown (more match: 'More results')" if more else None
        say(
            self.search_message,
            f"{shown or str(n) + ' observation' + ('s' if n != 1 else '') + ' found'}; tick the ones to process.",
        )

    def _no_rows(self, message: str) -> list[dict]:
        say(self.search_message, message, error=True)
        self._last_query = None
        self.table.rows = []
        self.model.rows = []
        self.model.selected = list(self.table.selected)
        return []


__all__ = ["SearchStage", "COLUMNS"]
