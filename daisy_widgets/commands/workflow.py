"""``daisy workflow``: run, check and show saved workflows; run one algorithm with generated options.

``daisy workflow run FILE.json [--scheduler ADDRESS] [--input key=path.h5:/dset ...] [--output out.h5]``
runs a workflow with a progress bar; Ctrl-C cancels cleanly (nothing is written). It ends with
the run report: every step with ran / skipped / retried / fell back, and why (format 2).
``daisy workflow validate`` checks algorithms, parameters, wiring, conditions, policies, loops
and (with ``--local`` or ``--scheduler``) resources; ``daisy workflow show`` prints them all.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from ..core.errors import Cancelled, DaisyError, InputFileError, ValidationError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "workflow",
        help="run, check or show a saved workflow (JSON)",
        description="Run, validate or show a Daisy workflow saved as JSON.",
    )
    sub = p.add_subparsers(dest="workflow_command", metavar="ACTION")

    r = sub.add_parser("run", help="run a workflow with a progress bar (Ctrl-C cancels)")
    r.add_argument("file", type=Path, help="workflow JSON file")
    _engine_options(r)
    r.add_argument(
        "--input",
        "-i",
        action="append",
        default=[],
        metavar="KEY=FILE.h5[:/DATASET]",
        help="put an HDF5 dataset (opened lazily) under a data-store key; without :/DATASET, "
        "every dataset of the file under KEY/",
    )
    r.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="STEP.PARAM=VALUE",
        help="override a step parameter, e.g. --set scale.factor=2",
    )
    r.add_argument(
        "--output", "-o", type=Path, help="write the kept (persisted) results to this HDF5 file, atomically"
    )
    r.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="KEY",
        help="also keep and write this data-store key (or group)",
    )
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    r.set_defaults(func=run_cmd)

    v = sub.add_parser(
        "validate", help="check a workflow (algorithms, parameters, wiring) without running it"
    )
    v.add_argument("file", type=Path)
    v.add_argument(
        "--input", "-i", action="append", default=[], metavar="KEY", help="key present before the run"
    )
    where = v.add_mutually_exclusive_group()
    where.add_argument(
        "--local", action="store_true", help="also check step resources (gpu, memory...) against this machine"
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="also check step resources against the workers of this Dask scheduler",
    )
    v.set_defaults(func=validate_cmd)

    s = sub.add_parser("show", help="print the steps of a workflow")
    s.add_argument("file", type=Path)
    s.set_defaults(func=show_cmd)

    st = sub.add_parser(
        "step",
        help="run one algorithm, its options generated from its declaration",
        description="Run one registered algorithm on HDF5 data. Its parameters become options: "
        "see 'daisy workflow step NAME --help'.",
    )
    st.add_argument("algorithm", help="registered algorithm name (see 'daisy algorithms')")
    st.add_argument(
        "rest",
        nargs=argparse.REMAINDER,
        help="the algorithm's options, --input PORT=FILE.h5:/DATASET, --output FILE.h5",
    )
    st.set_defaults(func=step_cmd)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _engine_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine")
    g.add_argument(
        "--engine",
        choices=("inprocess", "dask"),
        default=None,
        help="where to run (default: inprocess; dask when --scheduler is given)",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://host:8786 (implies --engine dask)",
    )
    g.add_argument(
        "--workers", type=int, default=2, help="LocalCluster workers for --engine dask (default 2)"
    )
    g.add_argument("--memory-limit", default="auto", help="memory limit per LocalCluster worker, e.g. 2GB")
    g.add_argument(
        "--gpu-workers",
        default="auto",
        metavar="N|auto",
        help="LocalCluster workers labelled with the GPU resource, where steps needing a GPU run "
        "(default auto: one per CUDA device found)",
    )
    g.add_argument(
        "--lazy",
        action="store_true",
        help="Dask: stream inputs larger than memory block by block (results computed while writing --output)",
    )


def parse_input(spec: str) -> tuple[str, str, str | None]:
    """``key=path.h5:/dset`` -> (key, path, dset); dset None for a whole file."""
    if "=" not in spec:
        raise ValidationError("--input", {spec: ["expected KEY=FILE.h5[:/DATASET]"]})
    key, rest = spec.split("=", 1)
    path, dset = rest, None
    if ":" in rest:
        head, tail = rest.rsplit(":", 1)
        if tail.startswith("/") or (tail and not Path(rest).exists()):
            path, dset = head, tail
    if not key or not path:
        raise ValidationError("--input", {spec: ["expected KEY=FILE.h5[:/DATASET]"]})
    return key, path, dset


def _load_inputs(specs: list[str]):
    from ..core.datastore import DataStore

    store = DataStore()
    for spec in specs:
        key, path, dset = parse_input(spec)
        if not Path(path).exists():
            raise InputFileError(path, "", "an existing HDF5 file", "no such file")
        if dset is None:
            store.add_file(path, prefix=key)
        else:
            store.add_dataset(key, path, dset)
    return store


def _apply_sets(wf: Any, sets: list[str]) -> None:
    for item in sets:
        try:
            lhs, value = item.split("=", 1)
            step_id, name = lhs.rsplit(".", 1)
        except ValueError:
            raise ValidationError("--set", {item: ["expected STEP.PARAM=VALUE"]}) from None
        try:
            step = wf.step(step_id)
        except KeyError as exc:
            raise ValidationError("--set", {item: [str(exc.args[0])]}) from None
        step.params[name] = value  # text: coerced and checked by the declaration


@contextlib.contextmanager
def _ctrl_c_cancels(token: Any):
    """First Ctrl-C sets the cancel token; a second one interrupts at once."""

    def handler(signum: int, frame: Any) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("\ncancelling... (Ctrl-C again to abort at once)", file=sys.stderr)

    try:
        old = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        old = None
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)


def _engine(args: argparse.Namespace):
    from ..core.engine import DaskEngine, InProcessEngine

    kind = args.engine or ("dask" if args.scheduler else "inprocess")
    if kind == "inprocess":
        if args.lazy:
            raise ValidationError("options", {"--lazy": ["needs --engine dask"]})
        return InProcessEngine()
    gpu = args.gpu_workers
    if gpu != "auto" and not (gpu.isdigit() and int(gpu) <= args.workers):
        raise ValidationError(
            "options", {"--gpu-workers": [f"expected 'auto' or 0..{args.workers}; got {gpu!r}"]}
        )
    return DaskEngine(
        args.scheduler,
        n_workers=args.workers,
        memory_limit=args.memory_limit,
        lazy=args.lazy,
        gpu_workers=gpu if gpu == "auto" else int(gpu),
    )


def _execute(wf: Any, store: Any, args: argparse.Namespace, keep: list[str]) -> int:
    from ..core.progress import CancelToken, TextProgressBar

    token = CancelToken()
    bar = None if args.quiet else TextProgressBar()
    if keep:
        store.persist(*keep)
    from ..core.control import RunReport
    from ..core.errors import StepError

    engine = _engine(args)
    report = RunReport()
    try:
        with _ctrl_c_cancels(token):
            try:
                try:
                    result = engine.run(wf, store, progress=bar, cancel=token, report=report)
                except StepError:
                    if bar is not None:
                        bar.close()
                    print(report, file=sys.stderr)
                    raise
                if args.output is not None:
                    produced = [k for k in wf.produced_keys() if k in result]
                    keys = result.persisted() or produced
                    import time

                    from ..core.progress import ProgressEvent, estimate_eta

                    t_write = time.monotonic()

                    def save_progress(done: int, total: int) -> None:
                        # with --lazy the computing happens here, block by block
                        if bar is not None:
                            frac = done / max(total, 1)
                            el = time.monotonic() - t_write
                            bar(
                                ProgressEvent(
                                    wf.name,
                                    "write " + str(args.output),
                                    0,
                                    1,
                                    done,
                                    total,
                                    frac,
                                    el,
                                    estimate_eta(frac, el),
                                )
                            )

                    result.save(args.output, keys, progress=save_progress, cancel=token)
            finally:
                if bar is not None:
                    bar.close()
    except Cancelled:
        print(
            "cancelled: nothing was written" + (f" to {args.output}" if args.output else ""), file=sys.stderr
        )
        return 130
    finally:
        engine.close()
    if args.output is not None:
        print(f"wrote {len(keys)} object(s) to {args.output}: {', '.join(keys)}")
    else:
        print(result.tree())
    print(report)
    return 0


def run_cmd(args: argparse.Namespace) -> int:
    from ..core.workflow import Workflow

    wf = Workflow.load(args.file)
    _apply_sets(wf, args.set)
    store = _load_inputs(args.input)
    return _execute(wf, store, args, args.keep)


def validate_cmd(args: argparse.Namespace) -> int:
    from ..core.workflow import Workflow

    wf = Workflow.load(args.file)
    offers = None
    if args.local:
        from ..core.resources import inprocess_offer

        offers = inprocess_offer()
    elif args.scheduler:
        from distributed import Client

        from ..core.resources import dask_offers

        with Client(args.scheduler, set_as_default=False, timeout="20s") as client:
            offers = dask_offers(client)
    wf.validate(available=args.input or None, offers=offers)
    print(
        f"{args.file}: workflow '{wf.name}' is valid ({len(wf.flatten())} step(s)); "
        f"reads: {', '.join(wf.required_keys()) or 'nothing'}; writes: {', '.join(wf.produced_keys())}"
    )
    counts = _control_counts(wf)
    if any(counts.values()):
        print("checked: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    if offers is not None:
        print(f"resources checked against {len(offers)} worker(s)")
    return 0


def _control_counts(wf) -> dict[str, int]:
    steps = []

    def walk(w) -> None:
        for s in w.steps:
            steps.append(s)
            if s.workflow is not None:
                walk(s.workflow)
            for c in s.switch or []:
                steps.append(c.step)

    walk(wf)
    return {
        "condition(s)": sum(s.when is not None for s in steps)
        + sum(c.when is not None for s in steps for c in (s.switch or [])),
        "switch(es)": sum(s.switch is not None for s in steps),
        "error policy(ies)": sum(s.on_error is not None for s in steps),
        "loop(s)": sum(s.repeat is not None for s in steps),
        "resource need(s)": sum(bool(s.resources) for s in steps),
    }


def _controls(st, indent: str) -> list[str]:
    """The format-2 fields of a step, one line each."""
    out = []
    if st.when is not None:
        out.append(f"{indent}when: {st.when}")
    if st.on_error is not None:
        p = st.on_error
        retry = f"retry {p.retry} (backoff {p.backoff_s:g} s), then " if p.retry else ""
        then = f"fall back to '{p.fallback}'" if p.fallback else p.then
        out.append(f"{indent}on error: {retry}{then}")
    if st.repeat is not None:
        out.append(f"{indent}repeat until: {st.repeat.until} (at most {st.repeat.max})")
    if st.resources:
        out.append(f"{indent}resources: " + ", ".join(f"{k}={v}" for k, v in st.resources.items()))
    return out


def show_cmd(args: argparse.Namespace) -> int:
    from ..core.workflow import Workflow

    wf = Workflow.load(args.file)
    print(f"workflow '{wf.name}'" + (f": {wf.description}" if wf.description else ""))
    if wf.params:
        print("params: " + ", ".join(f"{k}={v!r}" for k, v in wf.params.items()))
    fallbacks = {s.on_error.fallback for s in wf.steps if s.on_error is not None and s.on_error.fallback}
    i = 0

    def leaf(path: str, st) -> None:
        nonlocal i
        i += 1
        params = ", ".join(f"{k}={v}" for k, v in st.params.items())
        ins = ", ".join(f"{p}<-{k}" for p, k in st.inputs.items())
        outs = ", ".join(f"{p}->{k}" for p, k in st.outputs.items())
        standby = "  (runs only as a fallback)" if path in fallbacks else ""
        print(f"{i:>3}. {path} [{st.algorithm}] ({params})  in: {ins}  out: {outs}{standby}")
        for line in _controls(st, "       "):
            print(line)

    for s in wf.steps:
        if s.switch is not None:
            print(f"     switch {s.id}: the first case whose condition holds runs")
            for line in _controls(s, "       "):
                print(line)
            for c in s.switch:
                print(f"       case {'when ' + c.when if c.when is not None else 'otherwise'}:")
                leaf(f"{s.id}.{c.step.id}", c.step)
        elif s.workflow is not None:
            if s.is_v2:
                print(f"     sub-workflow {s.id} ({s.workflow.name}):")
                for line in _controls(s, "       "):
                    print(line)
            for path, st in Workflow(wf.name, [s]).flatten():
                leaf(path, st)
        else:
            leaf(s.id, s)
    if wf.persist:
        print(f"kept: {', '.join(wf.persist)}")
    return 0


def step_cmd(args: argparse.Namespace) -> int:
    from ..core import registry
    from ..core.cli_options import add_param_options, params_from_args
    from ..core.workflow import Step, Workflow

    try:
        cls = registry.get_algorithm(args.algorithm)
    except KeyError as exc:
        raise DaisyError(exc.args[0]) from None
    p = argparse.ArgumentParser(
        prog=f"daisy workflow step {cls.name}", description=f"{cls.name}: {cls.summary()}"
    )
    add_param_options(p, cls)
    io = p.add_argument_group("data")
    io.add_argument(
        "--input",
        "-i",
        action="append",
        default=[],
        metavar="PORT=FILE.h5:/DATASET",
        help="inputs: " + ", ".join(f"{x.name} ({x.help})" for x in cls.inputs),
    )
    io.add_argument(
        "--output",
        "-o",
        type=Path,
        required=True,
        help="HDF5 file for the outputs: " + ", ".join(x.name for x in cls.outputs),
    )
    _engine_options(p)
    p.add_argument("--quiet", "-q", action="store_true")
    sargs = p.parse_args(args.rest)
    params = params_from_args(cls, sargs)
    ports = [parse_input(s)[0] for s in sargs.input]
    wf = Workflow(
        cls.name,
        [
            Step(
                cls.name.split(".")[-1],
                cls.name,
                params,
                {k: k for k in ports},
                {x.name: x.name for x in cls.outputs},
            )
        ],
        persist=[x.name for x in cls.outputs],
    )
    store = _load_inputs(sargs.input)
    return _execute(wf, store, sargs, [])
