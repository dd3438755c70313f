"""``daisy workflow``: run, check and show saved workflows; run one algorithm with generated options.

``daisy workflow run FILE.json [--scheduler ADDRESS] [--input key=path.h5:/dset ...] [--output out.h5]``
runs a workflow with a progress bar; Ctrl-C cancels cleanly (nothing is written).
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
    return DaskEngine(args.scheduler, n_workers=args.workers, memory_limit=args.memory_limit, lazy=args.lazy)


def _execute(wf: Any, store: Any, args: argparse.Namespace, keep: list[str]) -> int:
    from ..core.progress import CancelToken, TextProgressBar

    token = CancelToken()
    bar = None if args.quiet else TextProgressBar()
    if keep:
        store.persist(*keep)
    engine = _engine(args)
    try:
        with _ctrl_c_cancels(token):
            try:
                result = engine.run(wf, store, progress=bar, cancel=token)
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
    wf.validate(available=args.input or None)
    print(
        f"{args.file}: workflow '{wf.name}' is valid ({len(wf.flatten())} step(s)); "
        f"reads: {', '.join(wf.required_keys()) or 'nothing'}; writes: {', '.join(wf.produced_keys())}"
    )
    return 0


def show_cmd(args: argparse.Namespace) -> int:
    from ..core.workflow import Workflow

    wf = Workflow.load(args.file)
    print(f"workflow '{wf.name}'" + (f": {wf.description}" if wf.description else ""))
    for i, (path, st) in enumerate(wf.flatten(), 1):
        params = ", ".join(f"{k}={v}" for k, v in st.params.items())
        ins = ", ".join(f"{p}<-{k}" for p, k in st.inputs.items())
        outs = ", ".join(f"{p}->{k}" for p, k in st.outputs.items())
        print(f"{i:>3}. {path} [{st.algorithm}] ({params})  in: {ins}  out: {outs}")
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
