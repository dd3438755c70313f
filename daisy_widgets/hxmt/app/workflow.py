"""The workflow of one HXMT app job (an observation x an instrument) and the fingerprints of its steps.

:func:`job_workflow` builds the chain (load, GTIs, screening, background,
light curve, spectrum, barycentring, timing, products) from the app's
:class:`JobParams`; :func:`fingerprints` gives every step an identity made of
its algorithm, its parameters and the fingerprints of the steps it reads, so
a re-run repeats only what changed (:mod:`.runner`). Nothing here imports ipywidgets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...core.workflow import Step, Workflow
from ..mission import DEFAULT_GTI_EXPR, spec
from ..pipeline import reduction_steps


# -- the workflow of one job --------------------------------------------------------------
@dataclass
class JobParams:
    """The app's parameters of one instrument (values as the algorithms declare them).

    Attributes
    ----------
    gtigen, screen, lcgen, fold, powspec
        Parameter values of ``hxmt.gtigen`` (expr, min_length), ``hxmt.screen`` (pi_min, pi_max,
        detectors), ``hxmt.lcgen`` (binsize), ``hxmt.fold`` (frequency, nbin, fdot) and ``hxmt.powspec``
        (binsize, segment); the instrument is set by the job.
    background
        Estimate the background from the blind detectors and overlay it.
    barycentre
        Barycentre the event times before folding and the power spectrum.
    timing
        Compute the pulse profile and the power spectrum.
    """

    gtigen: dict = field(default_factory=dict)
    screen: dict = field(default_factory=dict)
    lcgen: dict = field(default_factory=dict)
    fold: dict = field(default_factory=dict)
    powspec: dict = field(default_factory=dict)
    background: bool = True
    barycentre: bool = True
    timing: bool = True


def _clean(d: dict, drop: Sequence[str] = ("instrument",)) -> dict:
    return {k: v for k, v in d.items() if k not in drop and v is not None}


def job_workflow(instrument: str, l1_dir: str, out_dir: str, p: JobParams) -> Workflow:
    """The workflow of one instrument on one exposure, with the app's parameters."""
    x = spec(instrument).name
    inst = {"instrument": x}
    scr = _clean(p.screen)
    dets = {"detectors": list(scr["detectors"])} if scr.get("detectors") else {}
    gti = _clean(p.gtigen)
    if not gti.get("expr"):
        gti["expr"] = DEFAULT_GTI_EXPR[x]
    binsize = float(_clean(p.lcgen).get("binsize", 1.0))
    steps = reduction_steps(x, str(l1_dir), 0, scr, dets, gti)
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
        # the background is always estimated: the PHA's BACKFILE and the light curves need it;
        # ``background`` only says whether the app overlays and subtracts it
        Step(
            id="bkgmap",
            algorithm="hxmt.bkgmap",
            params={**inst, "binsize": binsize, **dets},
            inputs={"blind": "work/blind", "raw_blind": "work/raw_blind", "gti": "work/gti"},
            outputs={"spectrum": "products/bkg_spectrum", "lc": "products/bkg_lc"},
        ),
    ]
    write_in = {
        "events": "work/screened",
        "gti": "work/gti",
        "lc": "products/lc",
        "spectrum": "products/spectrum",
        "response": "products/response",
        "bkg_spectrum": "products/bkg_spectrum",
        "bkg_lc": "products/bkg_lc",
        "meta": "l1/meta",
    }
    if p.timing:
        ev = "work/screened"
        if p.barycentre:
            steps.append(
                Step(
                    id="barycorr",
                    algorithm="hxmt.barycorr",
                    inputs={"events": "work/screened", "orbit": "l1/orbit", "meta": "l1/meta"},
                    outputs={"events": "work/bary"},
                )
            )
            ev = "work/bary"
        steps.append(
            Step(
                id="fold",
                algorithm="hxmt.fold",
                params=_clean(p.fold),
                inputs={"events": ev},
                outputs={"profile": "products/profile"},
            )
        )
        # the power spectrum stays on spacecraft time: its segments are cut along the (spacecraft) GTIs,
        # and barycentring shifts times by up to ~500 s (the Doppler change of a short segment is negligible)
        steps.append(
            Step(
                id="powspec",
                algorithm="hxmt.powspec",
                params=_clean(p.powspec),
                inputs={"events": "work/screened", "gti": "work/gti"},
                outputs={"pds": "products/pds"},
            )
        )
        write_in["profile"] = "products/profile"
    steps.append(
        Step(
            id="write",
            algorithm="hxmt.write_products",
            params={
                **inst,
                "out_dir": str(out_dir),
                **{k: v for k, v in scr.items() if k in ("pi_min", "pi_max")},
            },
            inputs=write_in,
            outputs={"files": "products/files"},
        )
    )
    return Workflow(
        name=f"hxmt-app-{x.lower()}", steps=steps, description=f"HXMT app: {x} Level-1 to products"
    )


def fingerprints(wf: Workflow) -> dict[str, str]:
    """Fingerprint of every step: algorithm, parameters and the fingerprints of its inputs' producers."""
    producer: dict[str, str] = {}
    out: dict[str, str] = {}
    for s in wf.steps:
        ups = {port: producer.get(key, "external:" + key) for port, key in sorted(s.inputs.items())}
        blob = json.dumps(
            {"a": s.algorithm, "p": s.to_dict().get("params", {}), "in": ups}, sort_keys=True, default=str
        )
        fp = hashlib.sha1(blob.encode()).hexdigest()
        out[s.id] = fp
        for key in s.outputs.values():
            producer[key] = fp
    return out


__all__ = ["JobParams", "job_workflow", "fingerprints"]
