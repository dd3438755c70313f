"""The HXMT app's words: any failure as a sentence, and a coloured line of text."""

from __future__ import annotations

import html

import ipywidgets as W

from ...core.errors import DaisyError, InputFileError, StepError, ValidationError


def plain_error(exc: BaseException) -> str:
    """One or two sentences a user understands, for any failure the app can meet."""
    if isinstance(exc, StepError):
        cause = exc.cause
        what = {
            "load": "reading the Level-1 files",
            "gtigen": "making the good time intervals",
            "screen": "screening the events",
            "write": "writing the products",
        }.get(exc.step.split("/")[-1], f"step '{exc.step}'")
        return f"{what[0].upper() + what[1:]} failed: {plain_error(cause)}"
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.problems.items()) or str(exc)
    if isinstance(exc, InputFileError):
        return str(exc)
    if isinstance(exc, (DaisyError, ValueError, OSError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def say(widget: W.HTML, text: str, error: bool = False) -> None:
    """Show ``text`` in ``widget``: green, or red for an error."""
    color = "#c00" if error else "#060"
    widget.value = f"<span style='color:{color}'>{html.escape(text)}</span>"


__all__ = ["plain_error", "say"]
