"""The control fields of a workflow step (format version 2): error policy, loop, switch case.

``"on_error": {"retry": 3, "backoff_s": 0.5, "then": "skip"}``
    Retry a failing step up to 3 more times, waiting 0.5 s, then 1 s, then 2 s
    (the wait doubles), then ``"fail"`` (default: the run stops), ``"skip"`` (its
    outputs are absent; steps that need them are skipped too) or the id of a
    fallback step of the same workflow, run in its place. A step named as a
    fallback runs only in place of the step that names it.
``"repeat": {"until": "<expression>", "max": 10}``
    Run the step (or sub-workflow) again until the expression is true, at most
    ``max`` times; each round reads what the previous one wrote (an output port and
    an input port of the same name: the input is read from the output's key).
``"switch": [{"when": "<expression>", "step": {...}}, ..., {"step": {...}}]``
    Run the first alternative whose ``when`` is true (a last one without ``when``
    is the default); every alternative writes the same data-store keys.

The objects keep what the file says (so that a file round-trips exactly); what is
wrong with them is listed by their ``problems()`` and reported by
:meth:`~daisy_widgets.core.workflow.Workflow.validate` naming the step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: what a step's ``on_error.then`` may say besides a fallback step id
THEN_WORDS = ("fail", "skip")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass
class ErrorPolicy:
    """What to do when a step fails.

    Attributes
    ----------
    retry
        Extra attempts after the first failure (0: none).
    backoff_s
        Seconds to wait before the first retry (doubled before each next one).
    then
        After the last attempt: ``"fail"``, ``"skip"`` or the id of a fallback step.
    """

    retry: Any = 0
    backoff_s: Any = 0.0
    then: Any = "fail"

    @property
    def fallback(self) -> str | None:
        """The fallback step id, or None."""
        return self.then if isinstance(self.then, str) and self.then not in THEN_WORDS else None

    def problems(self) -> list[str]:
        out = []
        if not isinstance(self.retry, int) or isinstance(self.retry, bool) or not 0 <= self.retry <= 100:
            out.append(f"retry must be an integer 0..100; got {self.retry!r}")
        if not _number(self.backoff_s) or not 0 <= self.backoff_s <= 3600:
            out.append(f"backoff_s must be a number of seconds 0..3600; got {self.backoff_s!r}")
        if not isinstance(self.then, str) or not self.then:
            out.append(f"then must be 'fail', 'skip' or a fallback step id; got {self.then!r}")
        return out

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.retry != 0:
            d["retry"] = self.retry
        if self.backoff_s != 0:
            d["backoff_s"] = self.backoff_s
        if self.then != "fail":
            d["then"] = self.then
        return d

    @classmethod
    def from_value(cls, v: Any, step_id: str) -> ErrorPolicy:
        if not isinstance(v, Mapping):
            raise ValueError(
                f"step {step_id!r}: on_error must be an object like "
                '{"retry": 2, "backoff_s": 1, "then": "skip"}; got ' + repr(v)
            )
        _no_unknown(v, {"retry", "backoff_s", "then"}, step_id, "on_error")
        return cls(v.get("retry", 0), v.get("backoff_s", 0.0), v.get("then", "fail"))


@dataclass
class Repeat:
    """A loop: run the step again until ``until`` is true, at most ``max`` times."""

    until: Any = None
    max: Any = None

    def problems(self) -> list[str]:
        out = []
        if not isinstance(self.until, str) or not self.until.strip():
            out.append("until must be an expression, e.g. 'align.residual < 0.1'")
        if self.max is None:
            out.append("a loop needs 'max' (the most rounds it may run)")
        elif not isinstance(self.max, int) or isinstance(self.max, bool) or not 1 <= self.max <= 100000:
            out.append(f"max must be an integer 1..100000; got {self.max!r}")
        return out

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"until": self.until}
        if self.max is not None:
            d["max"] = self.max
        return d

    @classmethod
    def from_value(cls, v: Any, step_id: str) -> Repeat:
        if not isinstance(v, Mapping):
            raise ValueError(f"step {step_id!r}: repeat must be an object like {{'until': ..., 'max': N}}")
        _no_unknown(v, {"until", "max"}, step_id, "repeat")
        return cls(v.get("until"), v.get("max"))


@dataclass
class Case:
    """One alternative of a switch: ``step`` runs when ``when`` is true (None: the default)."""

    step: Any  # a workflow Step
    when: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.when is not None:
            d["when"] = self.when
        d["step"] = self.step.to_dict()
        return d

    @classmethod
    def from_value(cls, v: Any, step_id: str, parse_step: Callable[[Any], Any]) -> Case:
        if not isinstance(v, Mapping) or "step" not in v:
            raise ValueError(
                f"step {step_id!r}: each switch case is an object {{'when': ..., 'step': {{...}}}}"
            )
        _no_unknown(v, {"when", "step"}, step_id, "switch case")
        return cls(parse_step(v["step"]), v.get("when"))


def _no_unknown(v: Mapping[str, Any], known: set[str], step_id: str, what: str) -> None:
    unknown = sorted(set(v) - known)
    if unknown:
        raise ValueError(
            f"step {step_id!r}: unknown field(s) in {what}: {', '.join(unknown)}; expected {', '.join(sorted(known))}"
        )
