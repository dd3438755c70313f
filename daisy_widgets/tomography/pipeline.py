"""The standard reconstruction chain as a :class:`~daisy_widgets.core.workflow.Workflow`.

normalise -> [zingers] -> minus-log or Paganin -> [stripes] -> [align] -> [centre] -> reconstruct

Used by ``daisy tomo recon`` and by the tomography app; the workflow can be
saved as JSON and run again with ``daisy workflow run``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InputFileError, ValidationError


@dataclass
class ReconOptions:
    """Choices of the chain (CLI flags and app form)."""

    center: float | str | None = "auto"  # number (px), "auto" or None (detector middle)
    center_method: str = "auto"
    algorithm: str = "fbp"
    filter: str = "ramp"
    backend: str = "numpy"
    iterations: int = 50
    stripe: str = "none"  # none | sorting | fw
    zingers: bool = False
    zinger_threshold: float = 0.1
    phase: bool = False
    energy: float = 25.0  # keV
    distance: float = 0.1  # m
    pixel_size: float = 1.0  # µm
    delta_beta: float = 1000.0
    align: bool = False
    align_iterations: int = 20
    circle: bool = False
    block: int = 8  # slices per chunk of the data-parallel steps


def build_workflow(opts: ReconOptions) -> Any:
    """The chain as a Workflow over the keys ``raw/{projections,flats,darks,theta}`` -> ``out/recon``."""
    from ..core.workflow import Step, Workflow

    steps = [
        Step(
            id="normalize",
            algorithm="tomo.normalize",
            inputs={"projections": "raw/projections", "flats": "raw/flats", "darks": "raw/darks"},
            outputs={"transmission": "work/transmission"},
            block=opts.block,
        )
    ]
    if opts.zingers:
        steps.append(
            Step(
                id="zingers",
                algorithm="tomo.remove_zingers",
                params={"threshold": opts.zinger_threshold},
                inputs={"transmission": "work/transmission"},
                outputs={"transmission": "work/dezingered"},
            )
        )
    trans = "work/dezingered" if opts.zingers else "work/transmission"
    if opts.phase:
        steps.append(
            Step(
                id="phase",
                algorithm="tomo.phase_retrieval",
                params={
                    "energy": opts.energy,
                    "distance": opts.distance,
                    "pixel_size": opts.pixel_size,
                    "delta_beta": opts.delta_beta,
                },
                inputs={"transmission": trans},
                outputs={"sinograms": "work/sinograms"},
            )
        )
    else:
        steps.append(
            Step(
                id="minus_log",
                algorithm="tomo.minus_log",
                inputs={"transmission": trans},
                outputs={"sinograms": "work/sinograms"},
                block=opts.block,
            )
        )
    if opts.stripe != "none":
        steps.append(
            Step(
                id="stripes",
                algorithm="tomo.remove_stripes",
                params={"method": opts.stripe},
                inputs={"sinograms": "work/sinograms"},
                outputs={"sinograms": "work/destriped"},
                block=opts.block,
            )
        )
        sino = "work/destriped"
    else:
        sino = "work/sinograms"
    # (each key is written by one step only)
    rec_inputs = {"sinograms": sino, "theta": "raw/theta"}
    rec_params: dict[str, Any] = {
        "algorithm": opts.algorithm,
        "filter": opts.filter,
        "backend": opts.backend,
        "iterations": opts.iterations,
        "circle": opts.circle,
    }
    if opts.align:
        steps.append(
            Step(
                id="align",
                algorithm="tomo.align",
                params={"iterations": opts.align_iterations},
                inputs={"sinograms": sino, "theta": "raw/theta"},
                outputs={"sinograms": "work/aligned", "shifts": "out/shifts"},
            )
        )
        rec_inputs["sinograms"] = "work/aligned"
    if opts.center == "auto":
        steps.append(
            Step(
                id="center",
                algorithm="tomo.find_center",
                params={"method": opts.center_method},
                inputs={"sinograms": rec_inputs["sinograms"], "theta": "raw/theta"},
                outputs={"center": "out/center"},
            )
        )
        rec_inputs["center"] = "out/center"
    elif opts.center is not None:
        rec_params["center"] = float(opts.center)
    steps.append(
        Step(
            id="reconstruct",
            algorithm="tomo.reconstruct",
            params=rec_params,
            inputs=rec_inputs,
            outputs={"recon": "out/recon"},
            block=opts.block,
        )
    )
    return Workflow(
        name="tomo-recon",
        steps=steps,
        persist=["out/recon", "out/center", "out/shifts"],
        description="normalise, minus-log or phase retrieval, stripes, centre, reconstruct",
    )


def parse_slices(text: str | None, n_rows: int, path: str) -> slice:
    """``"A:B"`` (either may be empty, negative counts from the end) -> slice of detector rows."""
    if not text:
        return slice(0, n_rows)
    try:
        a, b = (text.split(":", 1) + [""])[:2] if ":" in text else (text, str(int(text) + 1))
        a = int(a) if a.strip() else 0
        b = int(b) if b.strip() else n_rows
    except ValueError:
        raise ValidationError(
            "daisy tomo recon", {"--slices": [f"expected A:B (detector rows); got {text!r}"]}
        ) from None
    a, b = (a + n_rows if a < 0 else a), (b + n_rows if b < 0 else b)
    if not (0 <= a < b <= n_rows):
        raise ValidationError(
            f"daisy tomo recon {path}", {"--slices": [f"expected rows within 0:{n_rows}; got {text!r}"]}
        )
    return slice(a, b)


def check_center(center: float | str | None, width: int, path: str) -> None:
    if isinstance(center, (int, float)) and not (0 <= float(center) <= width - 1):
        raise ValidationError(
            f"daisy tomo recon {path}",
            {"--center": [f"expected a rotation axis inside the detector, 0..{width - 1} px; got {center}"]},
        )


def check_finite(scan: Any, rows: slice) -> None:
    """Scan the selected rows of the projections for NaN/inf, block by block (bounded memory)."""
    import dask.array as da

    part = scan.projections[:, rows, :]
    if hasattr(part, "dask"):
        # read here, block by block, whatever Dask client is the default
        bad = int((~da.isfinite(part)).sum().compute(scheduler="threads"))
    else:
        bad = int((~np.isfinite(part)).sum())
    if bad:
        raise InputFileError(
            scan.path,
            scan.fields.get("projections", "/exchange/data"),
            "finite detector counts",
            f"{bad} NaN/inf value(s) in rows {rows.start}:{rows.stop}",
        )


def run_reconstruction(
    path: str | os.PathLike,
    output: str | os.PathLike,
    opts: ReconOptions,
    *,
    slices: str | None = None,
    scheduler: str | None = None,
    engine: str | None = None,
    progress: Callable | None = None,
    cancel: Any = None,
    tiff: str | None = None,
    save_workflow: str | None = None,
    layout: Any = None,
    output_format: str = "hdf5",
) -> dict[str, Any]:
    """Read ``path``, run the chain on the selected rows, write ``output`` atomically.

    ``layout`` (a :class:`~daisy_widgets.tomography.io.Layout` or its dict) says how to read
    files that are not Data Exchange/NXtomo; ``output_format`` is ``"hdf5"`` (Data Exchange),
    ``"nexus"`` (NXtomoproc) or ``"tiff"`` (``output`` is a folder of slices). Every output
    carries the parameters and the input's provenance (files, layout, checksums, versions).

    Chains whose steps all work row by row, run in this process to an HDF5 file, stream:
    blocks of ``opts.block`` rows are read, reconstructed and written with the three
    overlapped (:mod:`.stream`); the others run as a workflow on the chosen engine.

    Returns a summary: ``{"center", "shape", "output", "seconds"}`` (and ``"stream"``, a
    :class:`~daisy_widgets.tomography.stream.StreamStats`, when streamed).
    """
    import time

    from ..core.datastore import DataStore
    from ..core.engine import run_workflow
    from .io import FORMATS, read_scan, scan_provenance, write_recon, write_recon_nexus, write_tiff_stack
    from .stream import resolve_center, stream_reason, stream_reconstruction

    t0 = time.monotonic()
    if output_format not in FORMATS:
        raise ValidationError(
            "daisy tomo recon", {"--format": [f"expected one of {FORMATS}; got {output_format!r}"]}
        )
    scan = read_scan(path, layout=layout)
    n_angles, n_rows, width = scan.shape
    rows = parse_slices(slices, n_rows, str(path))
    check_center(opts.center, width, str(path))
    if stream_reason(opts, engine, scheduler, output_format) is None:
        # rows stream through the chain: reading, computing and writing overlap, memory bounded by the block
        if save_workflow:
            build_workflow(opts).save(save_workflow)
        center = resolve_center(scan, rows, opts.center, build_workflow(opts), cancel)
        params = {k: v for k, v in asdict(opts).items() if k != "block"}
        params.update(
            center=center,
            slices=f"{rows.start}:{rows.stop}",
            engine=engine or "inprocess",
            theta_units="degrees",
            software="daisy_widgets.tomography",
        )
        # the input's checksums (and NaN/inf refused) in a thread beside the reconstruction:
        # the same pass as below, off the critical path; an error stops the run, nothing is written
        prov: dict[str, Any] = {}

        def checksums(stopped: Callable[[], bool]) -> dict[str, Any]:
            prov.update(scan_provenance(scan, rows, stopped))
            return prov

        stats = stream_reconstruction(
            scan,
            rows,
            build_workflow(replace(opts, center=center)),
            output,
            block=opts.block,
            params=params,
            provenance=checksums,
            input_path=path,
            progress=progress,
            cancel=cancel,
        )
        if tiff:
            from .io import read_recon

            write_tiff_stack(
                tiff,
                read_recon(output)[0],
                first=rows.start,
                metadata={"parameters": params, "provenance": prov},
            )
        return {
            "center": center,
            "shape": (stats.slices, width, width),
            "output": str(Path(output)),
            "seconds": time.monotonic() - t0,
            "stream": stats,
        }
    # one read of the selected rows: checksums for the provenance, and NaN/inf refused (as check_finite)
    provenance = scan_provenance(scan, rows, (lambda: bool(cancel.cancelled)) if cancel is not None else None)
    store = DataStore()
    store["raw/projections"] = scan.projections[:, rows, :]
    store["raw/flats"] = scan.flats[:, rows, :]
    if scan.darks is not None:
        store["raw/darks"] = scan.darks[:, rows, :]
    else:
        store["raw/darks"] = np.zeros((1, rows.stop - rows.start, width), np.float32)
    store["raw/theta"] = np.asarray(scan.theta, np.float64)
    wf = build_workflow(opts)
    if scan.flats_after is not None:  # flats before and after: interpolated per projection
        store["raw/flats_after"] = scan.flats_after[:, rows, :]
        wf.steps[0].inputs["flats_after"] = "raw/flats_after"
    if save_workflow:
        wf.save(save_workflow)
    kind = engine or ("dask" if scheduler else "inprocess")
    result = run_workflow(wf, store, engine=kind, scheduler=scheduler, progress=progress, cancel=cancel)
    recon = result["out/recon"]
    center = (
        float(result["out/center"])
        if "out/center" in result
        else (float(opts.center) if isinstance(opts.center, (int, float)) else (width - 1) / 2.0)
    )
    params = {k: v for k, v in asdict(opts).items() if k != "block"}
    params.update(
        center=center,
        slices=f"{rows.start}:{rows.stop}",
        engine=kind,
        theta_units="degrees",
        software="daisy_widgets.tomography",
    )
    if output_format == "tiff":
        vol = recon  # written slice by slice (a dask volume is computed one slice at a time)
        write_tiff_stack(
            output, vol, first=rows.start, metadata={"parameters": params, "provenance": provenance}
        )
    else:
        writer = write_recon_nexus if output_format == "nexus" else write_recon
        extra = {"sample_name": str(scan.metadata.get("sample_name", ""))} if output_format == "nexus" else {}
        writer(
            output,
            recon,
            params=params,
            input_path=path,
            first_slice=rows.start,
            provenance=provenance,
            **extra,
        )
    if tiff:
        from .io import read_recon

        vol = read_recon(output)[0] if output_format != "tiff" else vol
        write_tiff_stack(
            tiff, vol, first=rows.start, metadata={"parameters": params, "provenance": provenance}
        )
    return {
        "center": center,
        "shape": tuple(recon.shape),
        "output": str(Path(output)),
        "seconds": time.monotonic() - t0,
    }
