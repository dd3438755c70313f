"""The algorithm toolbox's model: the registry by category with search, and one run of one algorithm.

No widgets here (tested without a browser):

* :func:`algorithms_by_category` groups every registered algorithm (plug-ins
  included; a broken plug-in is skipped by the registry) by its ``category``;
  :func:`search_algorithms` filters by words in the name, category or summary.
* :class:`RunRequest` is one toolbox run: the algorithm, its parameters, which store
  object feeds each input port and under which keys the outputs go.
  :meth:`RunRequest.problems` lists every problem at once, keyed by field (a port
  name, a parameter name or ``"output:<port>"``), so the form shows each next to its
  field: a missing input, a wrongly shaped one (from the port's declaration), an
  invalid parameter. :meth:`RunRequest.workflow` is the one-step workflow the engine
  runs, and :meth:`RunRequest.replay_line` the equivalent Python line, written to the
  console history (see :mod:`.replay`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.datastore import DataStore
from ..core.workflow import Step, Workflow
from .objects import console_name


def registered() -> dict[str, type]:
    """Every registered algorithm (plug-ins included), by name; plug-in warnings silenced."""
    from ..core import registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", registry.PluginWarning)
        return dict(registry.algorithms())


def algorithms_by_category(algos: Mapping[str, type] | None = None) -> dict[str, list[str]]:
    """``{category: [algorithm names]}``, categories and names sorted; no category -> ``"other"``."""
    algos = registered() if algos is None else algos
    out: dict[str, list[str]] = {}
    for name, cls in algos.items():
        out.setdefault(getattr(cls, "category", "") or "other", []).append(name)
    return {c: sorted(out[c]) for c in sorted(out)}


def search_algorithms(query: str, algos: Mapping[str, type] | None = None) -> dict[str, list[str]]:
    """:func:`algorithms_by_category` restricted to algorithms matching every word of ``query``
    (case-insensitive, in the name, the category or the summary); empty query: all."""
    algos = registered() if algos is None else algos
    words = query.lower().split()

    def hit(name: str, cls: type) -> bool:
        text = f"{name} {getattr(cls, 'category', '')} {cls.summary()}".lower()
        return all(w in text for w in words)

    return algorithms_by_category({n: c for n, c in algos.items() if hit(n, c)})


def default_output_key(algorithm: str, first_input: str | None, port: str, n_outputs: int) -> str:
    """Where an output goes unless the user says otherwise: ``<input>_<step>`` (``x_scale``),
    or ``<input>_<step>/<port>`` when the algorithm has several outputs."""
    base = f"{first_input or 'result'}_{algorithm.rsplit('.', 1)[-1]}"
    return base if n_outputs == 1 else f"{base}/{port}"


@dataclass
class RunRequest:
    """One run of one algorithm from the toolbox.

    Attributes
    ----------
    algorithm
        Registry name, e.g. ``"core.scale"``.
    params
        Parameter values as the form holds them (validated by :meth:`problems`).
    inputs
        ``{input port: store key}`` (``""`` or missing: not chosen).
    outputs
        ``{output port: store key}`` (missing: :func:`default_output_key`).
    engine
        ``"inprocess"`` or ``"dask"``.
    """

    algorithm: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    engine: str = "inprocess"

    @property
    def cls(self) -> type:
        algos = registered()
        if self.algorithm not in algos:
            raise KeyError(f"unknown algorithm {self.algorithm!r}; registered: {', '.join(sorted(algos))}")
        return algos[self.algorithm]

    def output_keys(self) -> dict[str, str]:
        """``{output port: store key}`` with the defaults filled in."""
        cls = self.cls
        first = next((self.inputs.get(p.name) for p in cls.inputs if self.inputs.get(p.name)), None)
        return {
            p.name: (self.outputs.get(p.name) or "").strip().strip("/")
            or default_output_key(self.algorithm, first, p.name, len(cls.outputs))
            for p in cls.outputs
        }

    def problems(self, store: DataStore) -> dict[str, list[str]]:
        """Every problem at once, keyed by field: input ports (missing, not in the store, wrong
        shape or dtype for the port), parameters (from the declaration) and ``output:<port>``."""
        cls = self.cls
        probs: dict[str, list[str]] = {}
        for port in cls.inputs:
            key = (self.inputs.get(port.name) or "").strip()
            if not key:
                if not port.optional:
                    probs[port.name] = [
                        f"no input chosen: pick a data object for '{port.name}' ({port.help})"
                    ]
                continue
            if key not in store:
                probs[port.name] = [f"'{key}' is not in the session's data store"]
                continue
            errs = port.check(store[key])
            if errs:
                probs[port.name] = [f"'{key}': {e}" for e in errs]
        for name, msgs in cls.validate_params(self.params).items():
            probs.setdefault(name, []).extend(msgs)
        seen: dict[str, str] = {}
        for port, key in self.output_keys().items():
            if key in seen:
                probs.setdefault(f"output:{port}", []).append(f"'{key}' is also the output of '{seen[key]}'")
            seen[key] = port
            if any(k.startswith(key + "/") for k in store):
                probs.setdefault(f"output:{port}", []).append(f"'{key}' is a group in the data store")
        return probs

    def step(self) -> Step:
        """The workflow step of this run (typed, JSON-compatible parameter values)."""
        cls = self.cls
        vals = cls.coerce_params(self.params)
        params = {p.name: p.to_json_value(vals[p.name]) for p in cls.params}
        inputs = {p: k for p, k in self.inputs.items() if k}
        return Step(
            id=self.algorithm.rsplit(".", 1)[-1],
            algorithm=self.algorithm,
            params=params,
            inputs=inputs,
            outputs=self.output_keys(),
        )

    def workflow(self) -> Workflow:
        """The one-step workflow the engine runs."""
        return Workflow(name=self.algorithm, steps=[self.step()])

    def replay_line(self) -> str:
        """The equivalent Python line in the console's terms (inputs and outputs by their console names).

        ``x_scale = daisy_run("core.scale", {"data": x}, factor=2.0)["data"]``; with several outputs
        ``_r = daisy_run(...); a_mean, a_std = _r["mean"], _r["std"]``."""
        step = self.step()
        ins = ", ".join(f"{json.dumps(p)}: {console_name(k)}" for p, k in step.inputs.items())
        defaults = self.cls.defaults()
        kw = "".join(
            f", {k}={v!r}" for k, v in step.params.items() if v != _json_default(self.cls, k, defaults)
        )
        if self.engine != "inprocess":
            kw += f", engine={self.engine!r}"
        call = f'daisy_run("{self.algorithm}", {{{ins}}}{kw})'
        outs = list(step.outputs.items())
        if len(outs) == 1:
            port, key = outs[0]
            return f"{console_name(key)} = {call}[{json.dumps(port)}]"
        names = ", ".join(console_name(k) for _, k in outs)
        values = ", ".join(f"_r[{json.dumps(p)}]" for p, _ in outs)
        return f"_r = {call}; {names} = {values}"


def _json_default(cls: type, name: str, defaults: dict[str, Any]) -> Any:
    return cls.param(name).to_json_value(defaults[name])
