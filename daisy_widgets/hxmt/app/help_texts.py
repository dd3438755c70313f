"""The help of each HXMT app stage (shown behind its "?" toggle; see :mod:`daisy_widgets.widgets.help`).

Each entry: what the stage does, what its parameters mean (with units), what a good result
looks like; the pipeline algorithms whose declared parameters the stage's forms show; the docs
pages. A stage class takes its entry with ``help_text, help_algorithms, help_docs = stage_help("run")``.
"""

from __future__ import annotations

_APP_DOC = ("The HXMT app", "hxmt-app.md#what-the-page-does")
_LIB_DOC = ("HXMT library and pipeline", "hxmt.md")

#: stage key -> (text, algorithms, docs)
STAGE_HELP: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "search": (
        "Find observations: by target name (case-insensitive), ObsID or ExpID prefix, a cone (RA, Dec "
        "and radius in degrees) or a time range (ISO dates in UTC, or mission seconds); any combination. "
        "The line above says where the search goes: the data service, or the local data folder. Tick the "
        "rows to process; a bad field is marked next to it.",
        (),
        (_APP_DOC, ("The data service", "data-service.md")),
    ),
    "params": (
        "Tick the instruments (HE, ME, LE) and set each one's pipeline parameters, generated from the "
        "algorithms' declarations below: the GTI expression on EHK columns (checked as you type), the PI "
        "channel range, the detectors, the light-curve bin (s), the folding frequency (Hz) and the power "
        "spectrum's resolution and segment (s). The defaults are the mission's (HXMTDAS).",
        ("hxmt.gtigen", "hxmt.screen", "hxmt.lcgen", "hxmt.fold", "hxmt.powspec"),
        (_APP_DOC, _LIB_DOC),
    ),
    "run": (
        "Run the pipeline for each ticked observation and instrument, on the Dask engine (or in this "
        "process), with progress and Cancel. A second run with changed parameters repeats only the steps "
        "whose parameters changed. A good run ends <i>done</i> for every job; a failed one says which "
        "step failed and why.",
        (),
        (_APP_DOC, ("Workflows and engines", "framework.md")),
    ),
    "results": (
        "The summary (good time and live exposure in s, events, rates in count/s, net of the background), "
        "and for the chosen job the light curve (count/s against time), the spectrum (count/s/keV), the "
        "power spectrum (Leahy) and the pulse profile. A good result has a light curve inside the GTI with "
        "no gaps beyond the SAA passages and a source rate well above the background. The product files "
        "(FITS, OGIP) can be downloaded; they reopen from <i>Recent results</i> on the app index.",
        (),
        (_APP_DOC, _LIB_DOC),
    ),
}


def stage_help(key: str) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """``(help_text, help_algorithms, help_docs)`` of stage ``key``."""
    return STAGE_HELP[key]


__all__ = ["STAGE_HELP", "stage_help"]
