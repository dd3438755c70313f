"""The help of each tomography app stage (shown behind its "?" toggle; see :mod:`daisy_widgets.widgets.help`).

Each entry: what the stage does, what its parameters mean (with units), what a good result
looks like; the algorithms whose declared parameters the stage's forms show (listed from their
declarations); the docs pages. A stage class takes its entry with
``help_text, help_algorithms, help_docs = stage_help("centre")``.
"""

from __future__ import annotations

_APP_DOC = ("The tomography app", "tomography-app.md#the-stages")
_LIB_DOC = ("Tomography library", "tomography.md")

#: stage key -> (text, algorithms, docs)
STAGE_HELP: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "open": (
        "Pick a scan in the data folder (Data Exchange or NXtomo HDF5, any HDF5/NeXus by named paths, "
        "TIFF stacks) and press <b>Open</b>, or open a scan of the data service. The table shows the "
        "geometry (angles × rows × columns), the angle range in degrees, the flats and darks, and the "
        "beam metadata (energy in keV, pixel size in µm, distance in m). A good scan has flats and darks "
        "and angles covering 180° (or 360°). A file that cannot be read is refused before any work, "
        "with the reason.",
        (),
        (_APP_DOC, ("Readers by layout", "tomography.md")),
    ),
    "raw": (
        "Look at the raw frames: projections, flats or darks with a slider (the angle in degrees), and "
        "the sinogram of any detector row. Wheel to zoom, drag to pan; the contrast control sets the "
        "grey window (percentiles of the histogram). Look for a sample that stays in the field of view, "
        "no saturated frames, and flats brighter than the projections.",
        (),
        (_APP_DOC,),
    ),
    "preprocess": (
        "Correct the projections before reconstruction: flat/dark normalisation (always on), zinger "
        "removal, stripe (ring) removal and Paganin phase retrieval, each switched on by its check box. "
        "The forms are generated from the algorithms' declarations below (a bad value is marked at its "
        "field). The <i>after</i> sinogram should have no vertical stripes (they become rings in the "
        "slice) and no isolated bright pixels.",
        ("tomo.normalize", "tomo.remove_zingers", "tomo.remove_stripes", "tomo.phase_retrieval"),
        (_APP_DOC, _LIB_DOC),
    ),
    "centre": (
        "Find the rotation axis, in detector pixels (px) from the left edge. <b>Find centre</b> estimates "
        "it (auto: Vo's Fourier metric and the centre of mass, an entropy sweep when they disagree). "
        "<b>Sweep</b> reconstructs small trial slices around it (<i>trials</i>: how many, "
        "<i>step</i>: px between them); click the sharpest. The slider refines by 0.25 px. A good centre "
        "gives sharp edges in the preview; a wrong one gives arcs or doubled edges (half-moon shapes).",
        ("tomo.find_center",),
        (_APP_DOC, _LIB_DOC),
    ),
    "motion": (
        "Estimate and correct sample motion: per-projection shifts (dy, dx in px) by re-projection "
        "matching on a block of rows around the preview row (<i>rows</i>: ± rows used). The plot shows "
        "the shifts against the angle; a good estimate is smooth and makes the <i>after</i> sinogram's "
        "edges continuous. Tick <i>use the correction</i> to apply it to the preview and the volume.",
        ("tomo.align",),
        (_APP_DOC,),
    ),
    "preview": (
        "One reconstructed slice, recomputed after every change: the detector row, the algorithm (FBP, "
        "gridrec, SIRT, CGLS), the filter of FBP/gridrec, the iterations of SIRT/CGLS, and the binning of "
        "the preview (values stay attenuation per original pixel). A good slice shows sharp edges, no "
        "rings, no streaks.",
        ("tomo.reconstruct",),
        (_APP_DOC, _LIB_DOC),
    ),
    "reconstruct": (
        "Reconstruct the volume: the range of detector rows (its size in MiB is shown), the algorithm "
        "and filter, the device (GPU with CuPy when one is available) and the engine (a Dask cluster, "
        "or in-process). It runs as a workflow in the background, with progress, ETA and Cancel.",
        ("tomo.reconstruct",),
        (_APP_DOC, ("Workflows and engines", "framework.md")),
    ),
    "result": (
        "The volume: three orthogonal slices with their sliders and a shared contrast, and a 3-D "
        "rendering of a block-averaged copy. <b>Save</b> writes HDF5 (<code>/exchange/data</code>, "
        "float32, with the centre, algorithm, filter, slices and preprocessing as attributes) or a TIFF "
        "stack; saved files appear under <i>Recent results</i> on the app index.",
        (),
        (_APP_DOC,),
    ),
    "panel": (
        "The live preview of the preview row with the current settings (debounced; a newer change "
        "cancels an older computation). The status line says the row, the algorithm/filter and the "
        "time it took.",
        (),
        (_APP_DOC,),
    ),
}


def stage_help(key: str) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """``(help_text, help_algorithms, help_docs)`` of stage ``key``."""
    return STAGE_HELP[key]


__all__ = ["STAGE_HELP", "stage_help"]
