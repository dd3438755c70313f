"""Running a plan: conditions, switches, error policies, loops and resource fallbacks.

The :class:`Controller` walks the :class:`~daisy_widgets.core.plan.PlanNode` tree and
hands each algorithm step to the engine (``run_leaf``), the same for the in-process
and the Dask engine; it keeps the :class:`RunReport` (every step: ran, skipped,
retried, fell back, and why) and sends the control events (``retry``, ``fallback``,
``skip``, ``iteration``) to the progress callback.

A workflow without format-2 fields runs exactly as before: every step once, in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .datastore import DataStore, materialize
from .engine_base import RunReporter
from .errors import Cancelled, StepError
from .expressions import Expression, ExpressionError
from .plan import PlanNode, Scope
from .progress import CancelToken

#: statuses of a step in a :class:`RunReport`
STATUSES = ("ran", "retried", "fell back", "skipped", "failed", "not run")


class AbsentValue(ExpressionError):
    """An expression read the output of a step that was skipped."""


@dataclass
class StepOutcome:
    """What happened to one step of a run.

    Attributes
    ----------
    path
        The step (``"sub.inner"``, ``"switch.case"`` inside sub-workflows and switches).
    status
        One of :data:`STATUSES`.
    attempts
        Times it was started (its retries are ``attempts - 1``).
    iterations
        Loop rounds run (0 for a step without ``repeat``).
    fell_back_to
        The step run in its place, if any.
    reason
        Why (condition text, error, switch choice, loop end...).
    """

    path: str
    status: str = "not run"
    attempts: int = 0
    iterations: int = 0
    fell_back_to: str | None = None
    reason: str = ""


@dataclass
class RunReport:
    """Every step of a run with what happened to it, in plan order."""

    workflow: str = ""
    steps: dict[str, StepOutcome] = field(default_factory=dict)

    def __getitem__(self, path: str) -> StepOutcome:
        return self.steps[path]

    def outcome(self, path: str) -> StepOutcome:
        return self.steps.setdefault(path, StepOutcome(path))

    def to_rows(self) -> list[dict[str, Any]]:
        return [dict(vars(o)) for o in self.steps.values()]

    def __str__(self) -> str:
        w = max([4, *(len(p) for p in self.steps)])
        lines = [
            f"run report of workflow '{self.workflow}':",
            f"  {'step':<{w}}  {'status':<9}  retries  rounds  why",
        ]
        for o in self.steps.values():
            why = o.reason + (f" (fell back to '{o.fell_back_to}')" if o.fell_back_to else "")
            retries = o.attempts - max(o.iterations, 1) if o.attempts else 0
            lines.append(
                f"  {o.path:<{w}}  {o.status:<9}  {retries or '':>7}  {o.iterations or '':>6}  {why}".rstrip()
            )
        return "\n".join(lines)


LeafRunner = Callable[[PlanNode, dict[str, Any], "int | None"], None]


class Controller:
    """Run the plan's nodes in order on ``store`` with ``run_leaf(node, inputs, chunk_retries)``.

    ``chunk_retries`` is 0 for a step with its own retry policy (the policy counts every
    attempt), else None (the engine's own setting).
    """

    def __init__(
        self,
        wf_name: str,
        nodes: list[PlanNode],
        store: DataStore,
        rep: RunReporter,
        cancel: CancelToken,
        run_leaf: LeafRunner,
        report: RunReport,
        after_node: Callable[[int], None] | None = None,
    ):
        self.wf_name = wf_name
        #: called with a top-level node's position once it has run (e.g. to release what it consumed)
        self.after_node = after_node
        self.nodes = nodes
        self.store = store
        self.rep = rep
        self.cancel = cancel
        self.run_leaf = run_leaf
        self.report = report
        report.workflow = wf_name
        self.absent: dict[str, str] = {}  # key -> why it is absent
        self.produced: list[str] = []
        for n in nodes:
            for m in n.walk():
                report.outcome(m.path)

    def run(self) -> None:
        try:
            for i, node in enumerate(self.nodes):
                if not node.standby:
                    self.run_node(node, {})
                    if self.after_node is not None:
                        self.after_node(i)
        finally:
            for n in self.nodes:
                if n.standby and self.report[n.path].status == "not run":
                    self.report[n.path].reason = self.report[n.path].reason or "fallback, not needed"
            self.rep.iteration, self.rep.iteration_text = 0, ""

    # -- one node ------------------------------------------------------------------------
    def run_node(self, node: PlanNode, subst: dict[str, str]) -> None:
        self.cancel.raise_if_cancelled()
        if node.when is not None:
            try:
                ok = node.when.truth(self.resolver(node.scope))
            except AbsentValue as exc:
                return self.skip(node, f"condition reads an absent value: {exc}")
            except ExpressionError as exc:
                self._mark(node, "failed", f"condition cannot be evaluated: {exc}")
                raise StepError(self.wf_name, node.path, exc) from exc
            if not ok:
                return self.skip(node, f"condition false: {node.when.text}")
        gone = [k for k in node.step.inputs.values() if subst.get(k, k) in self.absent]
        if gone:
            k = subst.get(gone[0], gone[0])
            return self.skip(node, f"input {k!r} is absent ({self.absent[k]})")
        if node.until is None:
            return self.attempt(node, subst)
        self.loop(node, subst)

    def loop(self, node: PlanNode, subst: dict[str, str]) -> None:
        out = self.report[node.path]
        most = node.step.repeat.max  # type: ignore[union-attr]
        s = node.step
        feed = {s.inputs[p]: s.outputs[p] for p in s.inputs if p in s.outputs and s.inputs[p] != s.outputs[p]}
        it = 0
        while True:
            it += 1
            self.rep.iteration, self.rep.iteration_text = it, f"iteration {it}/{most}"
            self.rep.note(node.index, node.path, "iteration", f"iteration {it}/{most}")
            self.attempt(node, subst if it == 1 else {**subst, **feed})
            out.iterations = it
            if out.status in ("skipped", "fell back"):
                break
            try:
                done = node.until.truth(self.resolver(node.scope))  # type: ignore[union-attr]
            except ExpressionError as exc:
                out.status, out.reason = "failed", f"until cannot be evaluated: {exc}"
                raise StepError(self.wf_name, node.path, exc) from exc
            if done:
                out.reason = f"until {node.until.text!r} true"  # type: ignore[union-attr]
                break
            if it >= most:
                out.reason = f"stopped at max {most} without {node.until.text!r} being true"  # type: ignore[union-attr]
                self.rep.note(node.index, node.path, "iteration", out.reason)
                break
        self.rep.iteration, self.rep.iteration_text = 0, ""

    def attempt(self, node: PlanNode, subst: dict[str, str]) -> None:
        out = self.report[node.path]
        pol = node.step.on_error
        retries = pol.retry if pol is not None else 0
        why = node.unrunnable
        last: BaseException | None = None
        if why is None:
            for a in range(retries + 1):
                out.attempts += 1
                try:
                    self.execute(node, subst, 0 if retries else None)
                except Cancelled:
                    raise
                except StepError as exc:
                    last = exc
                    if a < retries:
                        wait = float(pol.backoff_s) * 2**a  # type: ignore[union-attr]
                        self.rep.note(
                            node.index,
                            node.path,
                            "retry",
                            f"attempt {a + 1} failed ({_cause(exc)}); retry {a + 1}/{retries} in {wait:g} s",
                            attempt=a + 2,
                        )
                        self._sleep(wait)
                    continue
                out.status = "retried" if a else "ran"
                if a:
                    out.reason = f"succeeded at attempt {a + 1} after: {_cause(last)}"  # type: ignore[arg-type]
                return
            why = f"failed after {retries + 1} attempt(s): {_cause(last)}"  # type: ignore[arg-type]
        then = pol.then if pol is not None else "fail"
        if node.fallback is not None:
            out.status, out.fell_back_to, out.reason = "fell back", node.fallback.path, why
            self.rep.note(node.index, node.path, "fallback", f"{why}; running '{node.fallback.path}' instead")
            self.report[node.fallback.path].reason = f"in place of '{node.path}'"
            self.run_node(node.fallback, subst)
            return
        if then == "skip":
            return self.skip(node, why)
        out.status, out.reason = "failed", why
        if last is not None:
            raise last
        raise StepError(self.wf_name, node.path, RuntimeError(why))

    def execute(self, node: PlanNode, subst: dict[str, str], chunk_retries: int | None) -> None:
        if node.algo is not None:
            inputs = {p: self.store[subst.get(k, k)] for p, k in node.step.inputs.items()}
            self.run_leaf(node, inputs, chunk_retries)
            for k in node.step.outputs.values():
                self.absent.pop(k, None)
                self.produced.append(k)
            return
        if node.cases:
            chosen = None
            for cond, case in node.cases:
                if chosen is None:
                    try:
                        hit = cond is None or cond.truth(self.resolver(node.scope))
                    except AbsentValue as exc:
                        return self.skip(node, f"switch condition reads an absent value: {exc}")
                    except ExpressionError as exc:
                        raise StepError(self.wf_name, node.path, exc) from exc
                    if hit:
                        chosen = case
                        why = f"chose '{case.path}'" + (
                            f" ({cond.text})" if cond is not None else " (default)"
                        )
                        self.report[node.path].reason = why
                        continue
                self._mark(case, "skipped", "switch chose another case")
            if chosen is None:
                return self.skip(node, "no switch case is true")
            self.run_node(chosen, subst)
            return
        for child in node.children:
            if not child.standby:
                self.run_node(child, subst)

    # -- helpers ---------------------------------------------------------------------------
    def skip(self, node: PlanNode, why: str) -> None:
        self._mark(node, "skipped", why)
        for k in node.step.outputs.values():
            self.absent[k] = f"step '{node.path}' skipped: {why}"
        self.rep.note(node.index, node.path, "skip", f"skipped: {why}")

    def _mark(self, node: PlanNode, status: str, why: str) -> None:
        for m in node.walk():
            o = self.report[m.path]
            if o.status == "not run":
                o.status, o.reason = status, why if m is node else f"'{node.path}' {status}"

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.cancel.raise_if_cancelled()
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))

    def resolver(self, scope: Scope) -> Callable[[str], Any]:
        """``name -> value`` for expressions at one workflow level."""

        def resolve(name: str) -> Any:
            root, *rest = name.split(".")
            if root in scope.params and not rest:
                return scope.params[root]
            ports = scope.ports.get(root)
            if ports is None or not rest or rest[0] not in ports:
                raise ExpressionError(f"unknown name {name!r}")
            key = ports[rest[0]]
            if key in self.absent:
                raise AbsentValue(f"{name} ({self.absent[key]})")
            if key not in self.store:
                raise AbsentValue(f"{name}: nothing was written to {key!r}")
            value = self.store[key]
            for i, attr in enumerate(rest[1:]):
                if attr in ("shape", "ndim", "size"):
                    value = tuple(value.shape) if attr == "shape" else getattr(value, attr)
                elif attr == "dtype":
                    value = str(value.dtype)
                elif i == 0 and attr in self.store.attrs(key):
                    value = self.store.attrs(key)[attr]
                else:
                    raise ExpressionError(f"{name}: {key!r} has no {attr!r} (nor such an attribute)")
            return _plain(value)

        return resolve


def _plain(v: Any) -> Any:
    """Values an expression computes with: scalars as Python numbers, arrays in memory."""
    v = materialize(v)
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return v.item()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _cause(exc: BaseException) -> str:
    c = getattr(exc, "cause", exc)
    return f"{type(c).__name__}: {c}"


__all__ = ["AbsentValue", "Controller", "Expression", "RunReport", "STATUSES", "StepOutcome"]
