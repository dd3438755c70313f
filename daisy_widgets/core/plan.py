"""A workflow turned into a run plan: a tree of :class:`PlanNode` with every algorithm built,
every expression parsed, every key rewritten into the outer store, and what each step
needs matched against the workers that will run it.

Built by :func:`prepare_plan` (after :meth:`Workflow.validate`), walked by
:class:`~daisy_widgets.core.control.Controller`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .algorithm import Algorithm
from .datastore import DataStore
from .expressions import Expression
from .resources import WorkerOffer, dask_restrictions, describe, eligible, needs
from .workflow import Step, Workflow


@dataclass
class Scope:
    """What expressions of one workflow level can read: its params and its steps' outputs.

    ``ports`` maps a step id to ``{output port (or inner key): data-store key}``.
    """

    params: dict[str, Any]
    ports: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class PlanNode:
    """One step of the plan.

    Attributes
    ----------
    path
        ``"step"``, ``"sub.inner"`` or ``"switch.case"``: the name in progress and reports.
    step
        The step with its keys in the outer store.
    algo
        The built algorithm (leaf steps); None for a sub-workflow or a switch.
    index
        Progress position of its (first) leaf, 0-based.
    children, cases
        The inner nodes of a sub-workflow; ``(condition or None, node)`` of a switch.
    when, until
        Parsed condition and loop end (None when absent).
    fallback
        The node run in its place after its last failed attempt (``on_error.then``).
    standby
        True for a step that runs only as some step's fallback.
    need, workers, restrictions
        What a chunk needs; the workers able to run it (None: any); the Dask
        ``resources=``/``workers=`` of its chunks.
    """

    path: str
    step: Step
    scope: Scope
    algo: Algorithm | None = None
    index: int = 0
    children: list[PlanNode] = field(default_factory=list)
    cases: list[tuple[Expression | None, PlanNode]] = field(default_factory=list)
    when: Expression | None = None
    until: Expression | None = None
    fallback: PlanNode | None = None
    standby: bool = False
    need: dict[str, float] = field(default_factory=dict)
    workers: list[str] | None = None
    restrictions: dict[str, Any] = field(default_factory=dict)

    def walk(self) -> Iterator[PlanNode]:
        """This node and every node inside it, in plan order."""
        yield self
        for c in self.children:
            yield from c.walk()
        for _, c in self.cases:
            yield from c.walk()

    @property
    def unrunnable(self) -> str | None:
        """Why no worker can run this leaf (None when some can)."""
        if self.workers is not None and not self.workers:
            return f"no worker offers {describe(self.need)}"
        return None


def uses_resources(wf: Workflow, lookup: Callable[[str], type]) -> bool:
    """Whether any step (or its algorithm) declares resources: only then are the workers asked."""
    for _, s in wf.flatten():
        if s.resources or getattr(lookup(s.algorithm), "resources", None):  # type: ignore[arg-type]
            return True
    return any(s.resources for s in wf.steps if s.workflow is not None)


def prepare_plan(
    wf: Workflow,
    store: DataStore | None,
    lookup: Callable[[str], type] | None,
    offers: Callable[[], list[WorkerOffer]] | None = None,
) -> tuple[DataStore, list[PlanNode], int]:
    """Validate everything and build the plan before anything runs.

    ``offers()`` is asked (once) only when some step declares resources.

    Returns
    -------
    store, nodes, n_leaves
    """
    store = DataStore() if store is None else store
    if lookup is None:
        from .registry import get_algorithm as lookup
    available = store.keys() + [k for k in wf.required_keys() if k in store]
    wf.validate(available=available, lookup=lookup)
    worker_offers = None
    if offers is not None and uses_resources(wf, lookup):
        worker_offers = offers()
        wf.validate(available=available, lookup=lookup, offers=worker_offers)
    counter = [0]
    nodes = _build_level(wf, lambda k: k, lambda k: k, "", {}, lookup, worker_offers, counter)
    return store, nodes, counter[0]


def _build_level(
    wf: Workflow,
    key_in: Callable[[str], str],
    key_out: Callable[[str], str],
    prefix: str,
    inherit: dict[str, Any],
    lookup: Callable[[str], type],
    offers: list[WorkerOffer] | None,
    counter: list[int],
) -> list[PlanNode]:
    """Nodes of one workflow level; its keys become store keys through ``key_in`` (a key read
    before this level writes it) and ``key_out`` (a key written, and read after that)."""
    scope = Scope(dict(wf.params))
    nodes: list[PlanNode] = []
    written: set[str] = set()
    for s in wf.steps:

        def read(k: str, _w: set[str] = written) -> str:
            return key_out(k) if k in _w else key_in(k)

        nodes.append(_build_step(s, read, key_out, prefix + s.id, scope, inherit, lookup, offers, counter))
        scope.ports[s.id] = {p: key_out(k) for p, k in s.outputs.items()}
        written.update(s.outputs.values())
    by_id = {n.step.id: n for n in nodes}
    for n in nodes:
        for m in [n, *(c for _, c in n.cases)]:
            fb = m.step.on_error.fallback if m.step.on_error is not None else None
            if fb is not None:
                m.fallback = by_id[fb]
                by_id[fb].standby = True
    return nodes


def _build_step(
    s: Step,
    read: Callable[[str], str],
    write: Callable[[str], str],
    path: str,
    scope: Scope,
    inherit: dict[str, Any],
    lookup: Callable[[str], type],
    offers: list[WorkerOffer] | None,
    counter: list[int],
) -> PlanNode:
    renamed = dataclasses.replace(
        s,
        inputs={p: read(k) for p, k in s.inputs.items()},
        outputs={p: write(k) for p, k in s.outputs.items()},
    )
    node = PlanNode(path, renamed, scope, index=counter[0])
    node.when = Expression.parse(s.when) if s.when is not None else None
    node.until = Expression.parse(s.repeat.until) if s.repeat is not None else None
    res = {**inherit, **(s.resources or {})}
    if s.switch is not None:
        for c in s.switch:
            case = _build_step(
                c.step, read, write, f"{path}.{c.step.id}", scope, res, lookup, offers, counter
            )
            node.cases.append((Expression.parse(c.when) if c.when is not None else None, case))
    elif s.workflow is not None:
        # inner keys: read from the outer input key until the sub-workflow writes them, then from
        # the outer output key (a key in both, e.g. fed back by a loop, has both); others private
        ins, outs = renamed.inputs, renamed.outputs

        def inner_in(key: str, _sid: str = s.id) -> str:
            return ins.get(key) or outs.get(key) or write(f"_{_sid}/{key}")

        def inner_out(key: str, _sid: str = s.id) -> str:
            return outs.get(key) or ins.get(key) or write(f"_{_sid}/{key}")

        node.children = _build_level(
            s.workflow, inner_in, inner_out, path + ".", res, lookup, offers, counter
        )
    else:
        cls = lookup(s.algorithm)  # type: ignore[arg-type]
        node.algo = cls(**s.params)
        node.need = needs(cls, res)
        if node.need and offers is not None:
            node.workers = eligible(offers, node.need)
            node.restrictions = dask_restrictions(node.need, offers)
        counter[0] += 1
    return node
