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

JSON layout (``FORMAT_VERSION`` = 2; version-1 files load and run unchanged)::

    {"version": 1, "name": "demo", "description": "", "persist": ["work/scaled"],
     "steps": [{"id": "scale", "algorithm": "core.scale", "params": {"factor": 2.0},
                "inputs": {"data": "raw/data"}, "outputs": {"data": "work/scaled"}}]}

A step may also carry ``"block": N`` (chunk size for data-parallel steps).

Format version 2 adds, per step (see :mod:`.policies`, :mod:`.expressions`, :mod:`.resources`):
``"when": "<expression>"`` (run only when true), ``"on_error": {"retry": N, "backoff_s": X,
"then": "fail" | "skip" | "<fallback step id>"}``, ``"repeat": {"until": "<expression>", "max": N}``,
``"resources": {"gpu": 1, "memory": "2GB", "threads": 2}`` and the ``"switch"`` form
(``[{"when": ..., "step": {...}}, ..., {"step": {...}}]``); and per workflow ``"params"``, values
that expressions read by name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .errors import InputFileError
from .policies import Case, ErrorPolicy, Repeat
from .workflow_checks import WorkflowError, check_workflow

__all__ = ["FORMAT_VERSION", "Step", "Workflow", "WorkflowError", "json_schema"]

#: version of the JSON layout written by :meth:`Workflow.to_dict`
FORMAT_VERSION = 2
#: step fields that need format version 2
V2_STEP_FIELDS = ("when", "on_error", "repeat", "resources", "switch")


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
    when
        Expression; the step runs only when it is true (format 2).
    on_error
        :class:`~daisy_widgets.core.policies.ErrorPolicy`: retries, then fail, skip or a fallback step.
    repeat
        :class:`~daisy_widgets.core.policies.Repeat`: run again until an expression is true.
    resources
        What the step needs (``{"gpu": 1, "memory": "2GB", "threads": 2}``), over the algorithm's own.
    switch
        Alternatives (:class:`~daisy_widgets.core.policies.Case`); the first whose ``when`` is
        true runs. A switch step has no algorithm or workflow of its own; its ``inputs`` and
        ``outputs`` are those of its alternatives.
    """

    id: str
    algorithm: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    workflow: Workflow | None = None
    block: int | None = None
    when: str | None = None
    on_error: ErrorPolicy | None = None
    repeat: Repeat | None = None
    resources: dict[str, Any] | None = None
    switch: list[Case] | None = None

    def __post_init__(self) -> None:
        kinds = [self.algorithm is not None, self.workflow is not None, self.switch is not None]
        if sum(kinds) != 1:
            raise ValueError(f"step {self.id!r}: give exactly one of algorithm=, workflow= or switch=")
        self.params = _jsonable(dict(self.params))
        self.inputs = dict(self.inputs)
        self.outputs = dict(self.outputs)
        if self.switch is not None:
            self.switch = list(self.switch)
            for c in self.switch:  # a switch reads and writes what its alternatives do
                for p, k in c.step.inputs.items():
                    self.inputs.setdefault(p, k)
                for p, k in c.step.outputs.items():
                    self.outputs.setdefault(p, k)
        if self.resources is not None:
            self.resources = dict(self.resources)

    @property
    def is_v2(self) -> bool:
        """Whether the step uses a field of format version 2."""
        return any(getattr(self, f) is not None for f in V2_STEP_FIELDS)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id}
        if self.switch is not None:
            d["switch"] = [c.to_dict() for c in self.switch]
        else:
            if self.algorithm is not None:
                d["algorithm"] = self.algorithm
                d["params"] = _jsonable(self.params)
            else:
                d["workflow"] = self.workflow.to_dict()  # type: ignore[union-attr]
            d["inputs"] = dict(self.inputs)
            d["outputs"] = dict(self.outputs)
        if self.block is not None:
            d["block"] = int(self.block)
        if self.when is not None:
            d["when"] = self.when
        if self.on_error is not None:
            d["on_error"] = self.on_error.to_dict()
        if self.repeat is not None:
            d["repeat"] = self.repeat.to_dict()
        if self.resources is not None:
            d["resources"] = dict(self.resources)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Step:
        known = {"id", "algorithm", "params", "inputs", "outputs", "workflow", "block", *V2_STEP_FIELDS}
        unknown = sorted(set(d) - known)
        sid = str(d.get("id", "?"))
        if unknown:
            raise ValueError(
                f"step {sid!r}: unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}"
            )
        if "id" not in d:
            raise ValueError("a step has no 'id'")
        wf = d.get("workflow")
        sw = d.get("switch")
        if sw is not None and (not isinstance(sw, list) or not sw):
            raise ValueError(f"step {sid!r}: switch must be a non-empty list of cases")
        if sw is not None and ({"algorithm", "workflow", "inputs", "outputs", "params"} & set(d)):
            raise ValueError(
                f"step {sid!r}: a switch step has no algorithm, workflow, params, inputs or outputs "
                "of its own (its cases do)"
            )
        res = d.get("resources")
        if res is not None and not isinstance(res, Mapping):
            raise ValueError(f"step {sid!r}: resources must be an object like {{'gpu': 1}}; got {res!r}")
        return cls(
            id=sid,
            algorithm=d.get("algorithm"),
            params=dict(d.get("params", {})),
            inputs=dict(d.get("inputs", {})),
            outputs=dict(d.get("outputs", {})),
            workflow=Workflow.from_dict(wf) if wf is not None else None,
            block=d.get("block"),
            when=d.get("when"),
            on_error=ErrorPolicy.from_value(d["on_error"], sid) if "on_error" in d else None,
            repeat=Repeat.from_value(d["repeat"], sid) if "repeat" in d else None,
            resources=dict(res) if res is not None else None,
            switch=[Case.from_value(c, sid, Step.from_dict) for c in sw] if sw is not None else None,
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
    params
        Workflow parameters (format 2): ``{name: number, text or bool}`` that conditions read by name.
    """

    name: str
    steps: list[Step] = field(default_factory=list)
    description: str = ""
    persist: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    # -- JSON --------------------------------------------------------------------
    def format_version(self) -> int:
        """The oldest format version that holds this workflow: 2 when it (or a sub-workflow)
        uses a format-2 field or workflow params, else 1 (read by every Daisy)."""
        if self.params:
            return FORMAT_VERSION
        for s in self.steps:
            if s.is_v2 or (s.workflow is not None and s.workflow.format_version() > 1):
                return FORMAT_VERSION
        return 1

    def to_dict(self) -> dict[str, Any]:
        d = {
            "version": self.format_version(),
            "name": self.name,
            "description": self.description,
            "persist": list(self.persist),
        }
        if self.params:
            d["params"] = _jsonable(dict(self.params))
        d["steps"] = [s.to_dict() for s in self.steps]
        return d

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
        unknown = sorted(set(d) - {"version", "name", "description", "persist", "steps", "params"})
        if unknown:
            raise ValueError(
                f"workflow {d['name']!r}: unknown field(s) {', '.join(unknown)}; "
                "expected version, name, description, persist, params, steps"
            )
        params = d.get("params", {})
        if not isinstance(params, Mapping):
            raise ValueError(f"workflow {d['name']!r}: params must be an object {{name: value}}")
        steps = [Step.from_dict(s) for s in d.get("steps", [])]
        if version < 2:
            newer = ["'params'"] if "params" in d else []
            newer += [
                f"step {s['id']!r}: {f!r}" for s in d.get("steps", []) for f in V2_STEP_FIELDS if f in s
            ]
            if newer:
                raise ValueError(
                    f"workflow {d['name']!r} says version {version} but uses format-2 field(s) "
                    f'({", ".join(newer)}); set "version": 2'
                )
        return cls(
            name=str(d["name"]),
            steps=steps,
            description=str(d.get("description", "")),
            persist=list(d.get("persist", [])),
            params=dict(params),
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
            if s.switch is not None:  # the alternatives, as "switch.case"
                out.extend((f"{s.id}.{c.step.id}", c.step) for c in s.switch)
                continue
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
                            when=inner.when,
                            on_error=inner.on_error,
                            repeat=inner.repeat,
                            resources=inner.resources,
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
        self,
        available: Iterable[str] | None = None,
        lookup: Callable[[str], type] | None = None,
        offers: list | None = None,
    ) -> None:
        """Check the whole workflow before anything runs.

        Parameters
        ----------
        available
            Keys present in the data store before the run; when given, every key a
            step reads must be there or be written by an earlier step.
        lookup
            ``name -> Algorithm class`` (default: the registry).
        offers
            :class:`~daisy_widgets.core.resources.WorkerOffer` of each worker that will run
            it; when given, every step's resources must be offered by some worker (or the
            step must name a fallback that is).

        Raises
        ------
        WorkflowError
            For the first step with problems (unknown algorithm, invalid parameters,
            unknown or unwired ports, keys that nothing provides, conditions with unknown
            names or bad syntax, fallbacks to missing steps, loops without ``max``,
            resources no worker offers), listing all of them.
        """
        if lookup is None:
            from .registry import get_algorithm as lookup
        have = set(available) if available is not None else None
        check_workflow(self, have, lookup, self.name, offers)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the workflow file format (``workflow.schema.json``, format versions 1 and 2).

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
