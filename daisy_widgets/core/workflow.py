"""Workflows: an ordered list of steps wired by data-store keys, saved as JSON.

A :class:`Step` runs either one registered algorithm (``algorithm="tomo.fbp"``
with ``params``) or a nested :class:`Workflow` (``workflow=...``). Its
``inputs`` map the algorithm's input ports to data-store keys it reads
(``{"sinogram": "work/sino"}``); its ``outputs`` map output ports to the keys
it writes. For a sub-workflow step, the mappings go from the inner workflow's
keys to the outer store's keys.

Example::

    wf = Workflow(name="demo", steps=[
        Step(id="scale", algorithm="core.scale", params={"factor": 2.0},
             inputs={"data": "raw/data"}, outputs={"data": "work/scaled"}),
    ], persist=["work/scaled"])
    wf.save("demo.json")
    assert Workflow.load("demo.json") == wf

JSON layout (``FORMAT_VERSION`` = 1)::

    {"version": 1, "name": "demo", "description": "", "persist": ["work/scaled"],
     "steps": [{"id": "scale", "algorithm": "core.scale", "params": {"factor": 2.0},
                "inputs": {"data": "raw/data"}, "outputs": {"data": "work/scaled"}}]}

A step may also carry ``"block": N`` (chunk size for data-parallel steps).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .errors import InputFileError, ValidationError

#: version of the JSON layout written by :meth:`Workflow.to_dict`
FORMAT_VERSION = 1


class WorkflowError(ValidationError):
    """A workflow that cannot run: names the workflow and the step at fault.

    Attributes
    ----------
    workflow, step
        Names of the workflow and of the failing step (``""`` for the workflow itself).
    problems
        ``{field: [problems]}``, where field is ``"algorithm"``, ``"inputs.<port>"``,
        ``"outputs.<port>"``, a parameter name, ...
    """

    def __init__(self, workflow: str, step: str, problems: Mapping[str, list[str]]):
        self.workflow = workflow
        self.step = step
        owner = f"workflow '{workflow}'" + (f", step '{step}'" if step else "")
        super().__init__(owner, problems)


@dataclass
class Step:
    """One step of a workflow.

    Attributes
    ----------
    id
        Unique name of the step inside its workflow (used in errors and progress).
    algorithm
        Registry name of the algorithm (e.g. ``"tomo.fbp"``); or None for a sub-workflow.
    params
        Parameter values (JSON-compatible); missing ones take the declared defaults.
    inputs
        ``{input port: data-store key}`` (for a sub-workflow: ``{inner key: outer key}``).
    outputs
        ``{output port: data-store key}`` (for a sub-workflow: ``{inner key: outer key}``).
    workflow
        Nested :class:`Workflow` for a sub-workflow step.
    block
        Chunk size along the split axis for data-parallel steps (None: the declared default).
    """

    id: str
    algorithm: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    workflow: Workflow | None = None
    block: int | None = None

    def __post_init__(self) -> None:
        if (self.algorithm is None) == (self.workflow is None):
            raise ValueError(f"step {self.id!r}: give exactly one of algorithm= or workflow=")
        self.params = _jsonable(dict(self.params))
        self.inputs = dict(self.inputs)
        self.outputs = dict(self.outputs)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id}
        if self.algorithm is not None:
            d["algorithm"] = self.algorithm
            d["params"] = _jsonable(self.params)
        else:
            d["workflow"] = self.workflow.to_dict()  # type: ignore[union-attr]
        d["inputs"] = dict(self.inputs)
        d["outputs"] = dict(self.outputs)
        if self.block is not None:
            d["block"] = int(self.block)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Step:
        known = {"id", "algorithm", "params", "inputs", "outputs", "workflow", "block"}
        unknown = sorted(set(d) - known)
        sid = str(d.get("id", "?"))
        if unknown:
            raise ValueError(
                f"step {sid!r}: unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}"
            )
        if "id" not in d:
            raise ValueError("a step has no 'id'")
        wf = d.get("workflow")
        return cls(
            id=sid,
            algorithm=d.get("algorithm"),
            params=dict(d.get("params", {})),
            inputs=dict(d.get("inputs", {})),
            outputs=dict(d.get("outputs", {})),
            workflow=Workflow.from_dict(wf) if wf is not None else None,
            block=d.get("block"),
        )


@dataclass
class Workflow:
    """An ordered list of :class:`Step`, wired by data-store keys.

    Attributes
    ----------
    name
        Name shown in progress and errors.
    steps
        The steps, run in order.
    description
        Free text.
    persist
        Data-store keys kept (and saved by ``daisy workflow run --output``) when the
        run ends; other keys the workflow produced are released.
    """

    name: str
    steps: list[Step] = field(default_factory=list)
    description: str = ""
    persist: list[str] = field(default_factory=list)

    # -- JSON --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "name": self.name,
            "description": self.description,
            "persist": list(self.persist),
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Workflow:
        if not isinstance(d, Mapping):
            raise ValueError(f"a workflow must be a JSON object; got {type(d).__name__}")
        version = d.get("version")
        if version is None:
            raise ValueError("workflow has no 'version' field")
        if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
            raise ValueError(
                f"workflow format version {version!r} is not supported (this Daisy reads 1..{FORMAT_VERSION})"
            )
        if "name" not in d:
            raise ValueError("workflow has no 'name' field")
        unknown = sorted(set(d) - {"version", "name", "description", "persist", "steps"})
        if unknown:
            raise ValueError(
                f"workflow {d['name']!r}: unknown field(s) {', '.join(unknown)}; "
                "expected version, name, description, persist, steps"
            )
        steps = [Step.from_dict(s) for s in d.get("steps", [])]
        return cls(
            name=str(d["name"]),
            steps=steps,
            description=str(d.get("description", "")),
            persist=list(d.get("persist", [])),
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Workflow:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the workflow as JSON (atomically)."""
        atomic_write_text(path, self.to_json())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Workflow:
        """Read a workflow JSON file.

        Raises
        ------
        InputFileError
            Naming the file and what is wrong with it.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputFileError(
                p, "", "a readable workflow JSON file", f"{type(exc).__name__}: {exc.strerror or exc}"
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFileError(p, f"line {exc.lineno}", "valid JSON", exc.msg) from None
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            raise InputFileError(p, "", "a Daisy workflow (version, name, steps)", str(exc)) from None

    # -- structure ---------------------------------------------------------------
    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"workflow {self.name!r} has no step {step_id!r}")

    def flatten(self) -> list[tuple[str, Step]]:
        """Leaf (algorithm) steps in run order, sub-workflows expanded.

        Returns ``(path, step)`` pairs; ``path`` is ``"outer.inner"`` for steps of a
        sub-workflow, whose keys are rewritten into the outer store: inner keys
        mapped by the sub-workflow step's inputs/outputs take the outer key, other
        inner keys become private ``"_<step id>/<key>"`` keys.
        """
        out: list[tuple[str, Step]] = []
        for s in self.steps:
            if s.workflow is None:
                out.append((s.id, s))
                continue
            mapping = {**s.inputs, **s.outputs}

            def rename(key: str, _m: dict[str, str] = mapping, _sid: str = s.id) -> str:
                return _m.get(key, f"_{_sid}/{key}")

            for path, inner in s.workflow.flatten():
                out.append(
                    (
                        f"{s.id}.{path}",
                        Step(
                            id=f"{s.id}.{path}",
                            algorithm=inner.algorithm,
                            params=inner.params,
                            inputs={p: rename(k) for p, k in inner.inputs.items()},
                            outputs={p: rename(k) for p, k in inner.outputs.items()},
                            block=inner.block,
                        ),
                    )
                )
        return out

    def produced_keys(self) -> list[str]:
        """Keys written by the steps (outer keys only for sub-workflows)."""
        keys: list[str] = []
        for s in self.steps:
            keys.extend(k for k in s.outputs.values() if k not in keys)
        return keys

    def required_keys(self) -> list[str]:
        """Keys read before any step writes them: the workflow's inputs."""
        produced: set[str] = set()
        need: list[str] = []
        for s in self.steps:
            for k in s.inputs.values():
                if k not in produced and k not in need:
                    need.append(k)
            produced.update(s.outputs.values())
        return need

    # -- validation --------------------------------------------------------------
    def validate(
        self, available: Iterable[str] | None = None, lookup: Callable[[str], type] | None = None
    ) -> None:
        """Check the whole workflow before anything runs.

        Parameters
        ----------
        available
            Keys present in the data store before the run; when given, every key a
            step reads must be there or be written by an earlier step.
        lookup
            ``name -> Algorithm class`` (default: the registry).

        Raises
        ------
        WorkflowError
            For the first step with problems (unknown algorithm, invalid parameters,
            unknown or unwired ports, keys that nothing provides), listing all of them.
        """
        if lookup is None:
            from .registry import get_algorithm as lookup
        have = set(available) if available is not None else None
        self._validate(have, lookup, self.name)

    def _validate(
        self, have: set[str] | None, lookup: Callable[[str], type], wf_name: str
    ) -> set[str] | None:
        seen: set[str] = set()
        if not self.steps:
            raise WorkflowError(wf_name, "", {"steps": ["the workflow has no steps"]})
        for s in self.steps:
            problems: dict[str, list[str]] = {}
            if not s.id or s.id in seen:
                problems.setdefault("id", []).append("empty or duplicate step id")
            seen.add(s.id)
            if s.block is not None and (not isinstance(s.block, int) or s.block < 1):
                problems.setdefault("block", []).append(f"must be a positive integer; got {s.block!r}")
            if s.workflow is not None:
                needed = s.workflow.required_keys()
                for k in needed:
                    if k not in s.inputs:
                        problems.setdefault(f"inputs.{k}", []).append(
                            "the sub-workflow reads this key; map it to an outer key"
                        )
                for k in s.outputs:
                    if k not in s.workflow.produced_keys():
                        problems.setdefault(f"outputs.{k}", []).append(
                            "the sub-workflow does not produce this key"
                        )
                problems.update(self._missing_keys(s, have))
                if problems:
                    raise WorkflowError(wf_name, s.id, problems)
                try:
                    s.workflow._validate(
                        set(s.inputs) if have is not None else None, lookup, f"{wf_name}/{s.id}"
                    )
                except WorkflowError as exc:
                    raise WorkflowError(
                        wf_name, f"{s.id}.{exc.step}" if exc.step else s.id, exc.problems
                    ) from None
            else:
                try:
                    algo = lookup(s.algorithm)  # type: ignore[arg-type]
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
                        problems.setdefault(f"inputs.{port}", []).append(
                            f"expected a data-store key; got {key!r}"
                        )
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
                        problems.setdefault(f"outputs.{port}", []).append(
                            f"expected a data-store key; got {key!r}"
                        )
                problems.update(self._missing_keys(s, have))
                if problems:
                    raise WorkflowError(wf_name, s.id, problems)
            if have is not None:
                have.update(s.outputs.values())
        return have

    @staticmethod
    def _missing_keys(s: Step, have: set[str] | None) -> dict[str, list[str]]:
        if have is None:
            return {}
        return {
            f"inputs.{port}": [f"data-store key {key!r} is not in the store and no earlier step writes it"]
            for port, key in s.inputs.items()
            if isinstance(key, str) and key not in have
        }


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the workflow file format (``workflow.schema.json``, format version 1).

    For outside tools and editors; :meth:`Workflow.load` does its own checks and
    :meth:`Workflow.validate` checks against the registry.
    """
    return json.loads((Path(__file__).with_name("workflow.schema.json")).read_text(encoding="utf-8"))


def _jsonable(v: Any) -> Any:
    """Plain JSON form of parameter values (tuples -> lists, numpy scalars -> Python)."""
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 0) == 0:
        return v.item()
    return v
