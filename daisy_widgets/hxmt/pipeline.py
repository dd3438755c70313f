"""Each instrument's pipeline as a Daisy :class:`~daisy_widgets.core.workflow.Workflow`.

Example::

    files = run_pipeline("data/hxmt/P0101299001/P010129900101-20180301-01-01", "HE", "out/he")
    run_many([dir1, dir2], "HE", ["out/1", "out/2"], engine="dask")   # observations in parallel
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.datastore import DataStore
from ..core.engine import run_workflow
from ..core.workflow import Step, Workflow
from .mission import spec

#: what a batch run (:func:`run_pipeline`) keeps in its store besides the products: the
#: screened and barycentred events (the Level-1, calibrated and dead-time tables are dropped
#: as soon as the steps reading them have run)
BATCH_KEEP = ("work/screened", "work/bary", "work/gti")


def pipeline_workflow(
    instrument: str,
    l1_dir: str | None = None,
    out_dir: str | None = None,
    *,
    gti_expr: str | None = None,
    pi_range: tuple[int, int] | None = None,
    detectors: Sequence[int] | None = None,
    binsize: float = 1.0,
    frequency: float | None = None,
    search: tuple[float, float] | None = None,
    nbin: int = 32,
    seed: int = 0,
    ephemeris: str | None = None,
    group_min_counts: int | None = None,
    stream: bool = True,
) -> Workflow:
    """The HXMTDAS-like chain of one instrument as a Workflow.

    Parameters
    ----------
    instrument
        HE, ME or LE.
    l1_dir, out_dir
        Level-1 exposure folder and products folder (can be set later in the JSON).
    gti_expr
        GTI selection on EHK columns (default: the instrument's).
    pi_range
        Inclusive PI range (default: the instrument's band).
    detectors
        Detector IDs (default: all open detectors).
    binsize
        Light-curve bin (s).
    frequency, search
        Fold at ``frequency`` (Hz); search Z^2 over ``search = (f_min, f_max)`` (Hz) and fold at the best one.
    ephemeris
        TEMPO/TEMPO2 ``.par`` file: fold the barycentred events with its F0, F1, F2... and PEPOCH.
    group_min_counts
        Write a ``GROUPING`` column in the spectrum with at least this many counts per group.
    stream
        HE: read, calibrate and screen the events in one pass over blocks of the file
        (``hxmt.pical_screen``; no Level-1 or calibrated table in memory); False: the separate
        ``hxmt.load_l1`` (events), ``hxmt.pical`` and ``hxmt.screen`` steps, as the app runs
        them. The products are the same. ME and LE always run the separate steps (their
        grading pairs neighbouring events).
    """
    x = spec(instrument).name
    inst = {"instrument": x}
    dets = {"detectors": list(detectors)} if detectors else {}
    pr = {"pi_min": pi_range[0], "pi_max": pi_range[1]} if pi_range else {}
    gti = {"expr": gti_expr} if gti_expr else {}
    if stream and x == "HE":
        steps = [
            Step(
                id="load",
                algorithm="hxmt.load_l1",
                params={"l1_dir": l1_dir, **inst, "events": False},
                outputs={"ehk": "l1/ehk", "orbit": "l1/orbit", "meta": "l1/meta"},
            ),
            gtigen_step(x, gti),
            Step(
                id="pical_screen",
                algorithm="hxmt.pical_screen",
                params={**inst, "seed": seed, **pr, **dets},
                inputs={"meta": "l1/meta", "gti": "work/gti"},
                outputs=dict(SCREENED),
            ),
        ]
    else:
        steps = reduction_steps(x, l1_dir, seed, pr, dets, gti)
    steps += [
        Step(
            id="lcgen",
            algorithm="hxmt.lcgen",
            params={**inst, "binsize": binsize, **dets},
            inputs={"events": "work/screened", "raw": "work/raw", "gti": "work/gti"},
            outputs={"lc": "products/lc"},
        ),
        Step(
            id="specgen",
            algorithm="hxmt.specgen",
            params={**inst, **dets},
            inputs={"events": "work/screened", "raw": "work/raw", "gti": "work/gti"},
            outputs={"spectrum": "products/spectrum"},
        ),
        Step(
            id="rspgen",
            algorithm="hxmt.rspgen",
            params={**inst, **dets},
            outputs={"response": "products/response"},
        ),
        Step(
            id="bkgmap",
            algorithm="hxmt.bkgmap",
            params={**inst, "binsize": binsize, **dets},
            inputs={"blind": "work/blind", "raw_blind": "work/raw_blind", "gti": "work/gti"},
            outputs={"spectrum": "products/bkg_spectrum", "lc": "products/bkg_lc"},
        ),
    ]
    write_inputs = {
        "events": "work/screened",
        "gti": "work/gti",
        "lc": "products/lc",
        "spectrum": "products/spectrum",
        "response": "products/response",
        "bkg_spectrum": "products/bkg_spectrum",
        "bkg_lc": "products/bkg_lc",
        "meta": "l1/meta",
    }
    if frequency is not None or search is not None or ephemeris is not None:
        steps.append(
            Step(
                id="barycorr",
                algorithm="hxmt.barycorr",
                inputs={"events": "work/screened", "orbit": "l1/orbit", "meta": "l1/meta"},
                outputs={"events": "work/bary"},
            )
        )
        if search is not None:
            steps.append(
                Step(
                    id="z2search",
                    algorithm="hxmt.z2search",
                    params={"f_min": search[0], "f_max": search[1]},
                    inputs={"events": "work/bary"},
                    outputs={"z2": "products/z2"},
                )
            )
            write_inputs["z2"] = "products/z2"
        fold_in = {"events": "work/bary"}
        if search is not None and frequency is None and ephemeris is None:
            fold_in["z2"] = "products/z2"  # fold at the best Z^2 frequency
        steps.append(
            Step(
                id="fold",
                algorithm="hxmt.fold",
                params={
                    "frequency": frequency
                    if frequency is not None
                    else (0.5 * (search[0] + search[1]) if search is not None else 29.6),
                    "nbin": nbin,
                    **({"ephemeris": str(ephemeris)} if ephemeris is not None else {}),
                },
                inputs=fold_in,
                outputs={"profile": "products/profile"},
            )
        )
        write_inputs["profile"] = "products/profile"
    steps.append(
        Step(
            id="write",
            algorithm="hxmt.write_products",
            params={
                **inst,
                "out_dir": out_dir,
                **pr,
                **({"group_min_counts": group_min_counts} if group_min_counts else {}),
            },
            inputs=write_inputs,
            outputs={"files": "products/files"},
        )
    )
    return Workflow(
        name=f"hxmt-{x.lower()}-pipeline",
        steps=steps,
        description=f"Insight-HXMT {x} Level-1 to products (HXMTDAS-like)",
        persist=["products/files", "products/spectrum", "products/lc", "products/z2"],
    )


#: store keys of the screening's outputs: screened events, blind-detector events, and the
#: unscreened forms of both (inputs of the dead-time correction)
SCREENED = {
    "events": "work/screened",
    "blind": "work/blind",
    "raw": "work/raw",
    "raw_blind": "work/raw_blind",
}


def gtigen_step(x: str, gti: dict) -> Step:
    """The ``gtigen`` step of instrument ``x`` (housekeeping ``l1/ehk`` to ``work/gti``); ``gti``:
    its parameters besides the instrument (``expr``...)."""
    return Step(
        id="gtigen",
        algorithm="hxmt.gtigen",
        params={"instrument": x, **gti},
        inputs={"ehk": "l1/ehk"},
        outputs={"gti": "work/gti"},
    )


def reduction_steps(x: str, l1_dir: str | None, seed: int, pr: dict, dets: dict, gti: dict) -> list[Step]:
    """load (events read whole), pical, (grade ME | recon LE), gtigen, screen: each table a store object.

    Shared by the batch pipeline (ME, LE, and HE with ``stream=False``) and the app's job
    workflow (:func:`.app.workflow.job_workflow`); ``pr`` are the screening parameters, ``gti``
    those of :func:`gtigen_step`.
    """
    inst = {"instrument": x}
    steps = [
        Step(
            id="load",
            algorithm="hxmt.load_l1",
            params={"l1_dir": l1_dir, **inst},
            outputs={"events": "l1/events", "ehk": "l1/ehk", "orbit": "l1/orbit", "meta": "l1/meta"},
        ),
        Step(
            id="pical",
            algorithm="hxmt.pical",
            params={**inst, "seed": seed},
            inputs={"events": "l1/events"},
            outputs={"events": "cal/events"},
        ),
    ]
    if x == "ME":
        steps.append(
            Step(
                id="grade",
                algorithm="hxmt.grade",
                inputs={"events": "cal/events"},
                outputs={"events": "cal/graded"},
            )
        )
    elif x == "LE":
        steps.append(
            Step(
                id="recon",
                algorithm="hxmt.recon",
                inputs={"events": "cal/events"},
                outputs={"events": "cal/graded"},
            )
        )
    cal_key = "cal/graded" if x in ("ME", "LE") else "cal/events"
    return [
        *steps,
        gtigen_step(x, gti),
        Step(
            id="screen",
            algorithm="hxmt.screen",
            params={**inst, **pr, **dets},
            inputs={"events": cal_key, "gti": "work/gti"},
            outputs=dict(SCREENED),
        ),
    ]


def run_pipeline(
    l1_dir: str | Path,
    instrument: str,
    out_dir: str | Path,
    *,
    engine: str = "inprocess",
    progress: Any = None,
    cancel: Any = None,
    keep: Sequence[str] = BATCH_KEEP,
    compiled: bool | None = None,
    **kw: Any,
) -> DataStore:
    """Run one instrument's pipeline on one exposure; returns the data store (``products/files`` lists the files).

    With ``search=(f_min, f_max)`` and no ``frequency``, the profile is folded at the best Z^2 frequency.
    A batch run: each intermediate table is dropped as soon as the last step reading it has run
    (the store keeps the products and the objects named in ``keep``); ``kw`` are
    :func:`pipeline_workflow`'s.

    ``compiled``: run the event loops compiled (numba, :mod:`.event_kernels`) or as numpy
    expressions (the same results); None: compiled only if this process has them loaded
    already (numba's start, about 1 s and 180 MB, costs more than they save on one observation).
    """
    wf = pipeline_workflow(instrument, str(l1_dir), str(out_dir), **kw)
    with _loops(compiled):
        return run_workflow(
            wf,
            DataStore(),
            engine=engine,
            progress=progress,
            cancel=cancel,
            release=False,
            consumed=True,
            keep=keep,
        )


def _loops(compiled: bool | None) -> Any:
    from .event_kernels import loaded, numpy_loops

    return numpy_loops(not (loaded() if compiled is None else compiled))


def run_many(
    l1_dirs: Sequence[str | Path],
    instrument: str,
    out_dirs: Sequence[str | Path],
    *,
    engine: str = "dask",
    scheduler: Any = None,
    progress: Any = None,
    cancel: Any = None,
    **kw: Any,
) -> list[list[str]]:
    """Run the pipeline on many exposures, in parallel on the Dask engine; returns the files of each."""
    if len(l1_dirs) != len(out_dirs):
        raise ValueError(f"{len(l1_dirs)} Level-1 folders but {len(out_dirs)} output folders")
    if engine != "dask":
        return [
            list(run_pipeline(a, instrument, b, progress=progress, cancel=cancel, **kw)["products/files"])
            for a, b in zip(l1_dirs, out_dirs, strict=False)
        ]
    from ..core.engine import get_dask_engine

    eng = get_dask_engine(scheduler)
    results = []
    wfs = [
        pipeline_workflow(instrument, str(a), str(b), **kw) for a, b in zip(l1_dirs, out_dirs, strict=False)
    ]
    # one workflow per observation: parameters differ, so map each as its own run
    futs = [eng.client.submit(_run_one, wf, pure=False) for wf in wfs]
    from distributed import wait

    wait(futs)
    for f in futs:
        results.append(f.result())
    return results


def _run_one(wf: Workflow) -> list[str]:
    with _loops(None):
        store = run_workflow(wf, DataStore(), engine="inprocess", release=False, consumed=True)
    return list(store["products/files"])
