"""Checking a workflow before it runs: algorithms, parameters, wiring (format 1) and
conditions, error policies, loops, switches and resources (format 2).

Every problem is reported as :class:`WorkflowError` naming the workflow and the step,
with all the problems of that step keyed by field (``"when"``, ``"on_error.then"``,
``"repeat.max"``, ``"resources"``, ``"inputs.<port>"``...). Workflows and steps are
used through their attributes only (this module imports nothing of :mod:`.workflow`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ValidationError
from .expressions import Expression, ExpressionError
from .resources import describe, describe_offers, eligible, needs, resource_problems


class WorkflowError(ValidationError):
    """A workflow that cannot run: names the workflow and the step at fault.

    Attributes
    ----------
    workflow, step
        Names of the workflow and of the failing step (``""`` for the workflow itself).
    problems
        ``{field: [problems]}``, where field is ``"algorithm"``, ``"inputs.<port>"``,
        ``"outputs.<port>"``, a parameter name, ``"when"``, ``"on_error.then"``, ...
    """

    def __init__(self, workflow: str, step: str, problems: Mapping[str, list[str]]):
        self.workflow = workflow
        self.step = step
        owner = f"workflow '{workflow}'" + (f", step '{step}'" if step else "")
        super().__init__(owner, problems)


def check_workflow(
    wf: Any,
    have: set[str] | None,
    lookup: Callable[[str], type],
    wf_name: str,
    offers: list | None = None,
    inherit: Mapping[str, Any] | None = None,
) -> set[str] | None:
    """Check ``wf`` step by step; raise :class:`WorkflowError` for the first step with problems.

    ``have``: keys present so far (None: not checked); ``inherit``: resources of an
    enclosing sub-workflow step.
    """
    if not wf.steps:
        raise WorkflowError(wf_name, "", {"steps": ["the workflow has no steps"]})
    seen: set[str] = set()
    scope: dict[str, set[str]] = {}  # earlier step id -> the output ports expressions may read
    by_id = {s.id: s for s in wf.steps}
    for s in wf.steps:
        problems: dict[str, list[str]] = {}
        if not s.id or s.id in seen:
            problems.setdefault("id", []).append("empty or duplicate step id")
        seen.add(s.id)
        _control_problems(s, wf, scope, by_id, problems, "")
        if s.switch is not None:
            _switch_problems(s, wf, scope, by_id, problems)
            if problems:
                raise WorkflowError(wf_name, s.id, problems)
            for c in s.switch:
                try:
                    _check_step(c.step, wf, have, lookup, wf_name, offers, inherit, {})
                except WorkflowError as exc:
                    raise WorkflowError(wf_name, f"{s.id}.{exc.step}", exc.problems) from None
        else:
            _check_step(s, wf, have, lookup, wf_name, offers, inherit, problems)
        scope[s.id] = set(s.outputs)
        if have is not None:
            have.update(s.outputs.values())
    return have


def _check_step(
    s: Any,
    wf: Any,
    have: set[str] | None,
    lookup: Callable[[str], type],
    wf_name: str,
    offers: list | None,
    inherit: Mapping[str, Any] | None,
    problems: dict[str, list[str]],
) -> None:
    if s.block is not None and (not isinstance(s.block, int) or s.block < 1):
        problems.setdefault("block", []).append(f"must be a positive integer; got {s.block!r}")
    if s.workflow is not None:
        for k in s.workflow.required_keys():
            if k not in s.inputs:
                problems.setdefault(f"inputs.{k}", []).append(
                    "the sub-workflow reads this key; map it to an outer key"
                )
        for k in s.outputs:
            if k not in s.workflow.produced_keys():
                problems.setdefault(f"outputs.{k}", []).append("the sub-workflow does not produce this key")
        problems.update(missing_keys(s, have))
        if problems:
            raise WorkflowError(wf_name, s.id, problems)
        inner_res = {**(inherit or {}), **(s.resources or {})}
        try:
            check_workflow(
                s.workflow,
                set(s.inputs) if have is not None else None,
                lookup,
                f"{wf_name}/{s.id}",
                offers,
                inner_res,
            )
        except WorkflowError as exc:
            raise WorkflowError(wf_name, f"{s.id}.{exc.step}" if exc.step else s.id, exc.problems) from None
        return
    try:
        algo = lookup(s.algorithm)
    except KeyError as exc:
        raise WorkflowError(
            wf_name, s.id, {"algorithm": [str(exc.args[0]) if exc.args else str(exc)]}
        ) from None
    problems.update(algo.validate_params(s.params))
    in_ports = {p.name: p for p in algo.inputs}
    out_ports = {p.name: p for p in algo.outputs}
    for port, key in s.inputs.items():
        if port not in in_ports:
            problems.setdefault(f"inputs.{port}", []).append(
                f"{algo.name} has no input {port!r}; it takes: {', '.join(in_ports) or 'none'}"
            )
        if not isinstance(key, str) or not key:
            problems.setdefault(f"inputs.{port}", []).append(f"expected a data-store key; got {key!r}")
    for name, p in in_ports.items():
        if name not in s.inputs and not p.optional:
            problems.setdefault(f"inputs.{name}", []).append(
                "required input is not wired to a data-store key"
            )
    for port, key in s.outputs.items():
        if port not in out_ports:
            problems.setdefault(f"outputs.{port}", []).append(
                f"{algo.name} has no output {port!r}; it gives: {', '.join(out_ports) or 'none'}"
            )
        if not isinstance(key, str) or not key:
            problems.setdefault(f"outputs.{port}", []).append(f"expected a data-store key; got {key!r}")
    problems.update(missing_keys(s, have))
    if offers is not None and "resources" not in problems:
        _offer_problems(s, algo, wf, lookup, offers, inherit, problems)
    if problems:
        raise WorkflowError(wf_name, s.id, problems)


def missing_keys(s: Any, have: set[str] | None) -> dict[str, list[str]]:
    if have is None:
        return {}
    return {
        f"inputs.{port}": [f"data-store key {key!r} is not in the store and no earlier step writes it"]
        for port, key in s.inputs.items()
        if isinstance(key, str) and key not in have
    }


def expression_problems(
    text: Any, params: Mapping[str, Any], scope: Mapping[str, set[str]], self_id: str | None = None
) -> list[str]:
    """Problems of one condition: syntax, and names that are neither a workflow parameter nor
    ``<earlier step>.<output>`` (``self_id``: the step itself may be read too, in ``until``)."""
    try:
        expr = Expression.parse(text)
    except ExpressionError as exc:
        return [str(exc)]
    out = []
    for name in sorted(expr.names):
        root, *rest = name.split(".")
        if root in params:
            if rest:
                out.append(f"{name!r}: workflow parameter {root!r} has no fields")
            continue
        ports = scope.get(root) if root != self_id else scope.get(root, set())
        if ports is None:
            known = sorted(params) + [f"{k}.<output>" for k in scope]
            out.append(
                f"unknown name {name!r} in {text!r}: not a workflow parameter or an earlier step "
                f"(known: {', '.join(known) or 'none'})"
            )
        elif not rest:
            out.append(f"{name!r}: name one of the step's outputs, {root}.<{'|'.join(sorted(ports))}>")
        elif rest[0] not in ports:
            out.append(
                f"unknown name {name!r}: step {root!r} has no output {rest[0]!r}; it gives: "
                f"{', '.join(sorted(ports)) or 'none'}"
            )
    return out


def _control_problems(
    s: Any,
    wf: Any,
    scope: Mapping[str, set[str]],
    by_id: Mapping[str, Any],
    problems: dict[str, list[str]],
    prefix: str,
) -> None:
    def add(field: str, msgs: list[str]) -> None:
        if msgs:
            problems.setdefault(prefix + field, []).extend(msgs)

    if s.when is not None:
        add("when", expression_problems(s.when, wf.params, scope))
    if s.repeat is not None:
        add("repeat", s.repeat.problems())
        if isinstance(s.repeat.until, str) and s.repeat.until.strip():
            own = {**scope, s.id: set(s.outputs)}
            add("repeat.until", expression_problems(s.repeat.until, wf.params, own, s.id))
    if s.resources is not None:
        add("resources", resource_problems(s.resources))
    pol = s.on_error
    if pol is None:
        return
    add("on_error", pol.problems())
    fb = pol.fallback
    if fb is None:
        return
    if fb == s.id:
        add("on_error.then", [f"step {s.id!r} cannot be its own fallback"])
    elif fb not in by_id:
        add(
            "on_error.then",
            [f"fallback step {fb!r} does not exist in workflow {wf.name!r}; steps: {', '.join(by_id)}"],
        )
    else:
        missing = sorted(set(s.outputs.values()) - set(by_id[fb].outputs.values()))
        if missing:
            add("on_error.then", [f"fallback step {fb!r} does not write {', '.join(missing)}"])
        chain, cur = [s.id], by_id[fb]
        while cur is not None:
            if cur.id in chain:
                add("on_error.then", [f"fallbacks go round in a circle: {' -> '.join([*chain, cur.id])}"])
                break
            chain.append(cur.id)
            nxt = cur.on_error.fallback if cur.on_error is not None else None
            cur = by_id.get(nxt) if nxt else None


def _switch_problems(
    s: Any, wf: Any, scope: Mapping[str, set[str]], by_id: Mapping[str, Any], problems: dict[str, list[str]]
) -> None:
    ids: set[str] = set()
    keys0 = None
    for i, c in enumerate(s.switch):
        f = f"switch[{i}]"
        if c.step.switch is not None:
            problems.setdefault(f, []).append("a switch case cannot be a switch itself")
        if c.when is None and i < len(s.switch) - 1:
            problems.setdefault(f"{f}.when", []).append("only the last case may have no 'when' (the default)")
        elif c.when is not None:
            msgs = expression_problems(c.when, wf.params, scope)
            if msgs:
                problems.setdefault(f"{f}.when", []).extend(msgs)
        if c.step.id in ids or c.step.id in by_id:
            problems.setdefault(f"{f}.step.id", []).append(f"step id {c.step.id!r} is used twice")
        ids.add(c.step.id)
        _control_problems(c.step, wf, scope, by_id, problems, f"{f}.")
        keys = set(c.step.outputs.values())
        if keys0 is None:
            keys0 = keys
        elif keys != keys0:
            problems.setdefault(f"{f}.step.outputs", []).append(
                f"every case must write the same keys: {sorted(keys)} vs {sorted(keys0)}"
            )


def _offer_problems(
    s: Any,
    algo: type,
    wf: Any,
    lookup: Callable[[str], type],
    offers: list,
    inherit: Mapping[str, Any] | None,
    problems: dict[str, list[str]],
) -> None:
    need = needs(algo, {**(inherit or {}), **(s.resources or {})})
    if not need or eligible(offers, need):
        return
    by_id = {x.id: x for x in wf.steps}
    seen, cur = {s.id}, s
    while cur.on_error is not None and cur.on_error.fallback in by_id and cur.on_error.fallback not in seen:
        cur = by_id[cur.on_error.fallback]
        seen.add(cur.id)
        try:
            fb_need = needs(lookup(cur.algorithm), cur.resources) if cur.algorithm else {}
        except (KeyError, ValueError):
            return  # reported on the fallback step itself
        if eligible(offers, fb_need):
            return
    problems.setdefault("resources", []).append(
        f"no worker offers {describe(need)}; workers: {describe_offers(offers)}"
        + ("" if cur is s else f" (nor what fallback {cur.id!r} needs)")
        + "; name a fallback step in on_error.then or start workers with that resource"
    )
