"""The tomography steps as :class:`~daisy_widgets.core.algorithm.Algorithm` plug-ins.

Data layout in a workflow's data store:

* ``projections`` / ``transmission``: (angles, rows, columns) float32;
* ``sinograms``: (rows, angles, columns) float32 line integrals;
* ``theta``: (angles,) rotation angles in **degrees** (as in Data Exchange files);
* ``center``: scalar, detector pixels from the centre of the first pixel;
* ``recon``: (rows, N, N) float32 in attenuation per pixel.

Registered through the ``daisy.algorithms`` entry point (``ALGORITHMS``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.algorithm import Algorithm
from ..core.params import Bool, Choice, Float, Int, Port, Split
from .filters import FILTERS

_PROJ = Port("projections", dtype="fiu", ndim=3, help="projections (angles, rows, columns)")
_THETA = Port("theta", dtype="fiu", ndim=1, help="rotation angles (angles,), degrees")
_SINO = Port("sinograms", dtype="f", ndim=3, help="sinograms (rows, angles, columns), line integrals")


class Normalize(Algorithm):
    """Flat- and dark-field correction: (P - D) / (F - D), flats before/after interpolated."""

    name = "tomo.normalize"
    category = "tomography/preprocess"
    inputs = (
        _PROJ,
        Port("flats", dtype="fiu", ndim=3, help="flat-field frames (n, rows, columns)"),
        Port("darks", dtype="fiu", ndim=3, optional=True, help="dark-field frames (n, rows, columns)"),
        Port(
            "flats_after",
            dtype="fiu",
            ndim=3,
            optional=True,
            help="flats taken after the scan (interpolated with the ones before)",
        ),
    )
    outputs = (
        Port("transmission", dtype="f", ndim=3, help="transmission (angles, rows, columns), 1 = no sample"),
    )
    params = (
        Float("cutoff", None, optional=True, min=0.0, unit="", help="clip the transmission above this value"),
    )
    split = Split(
        inputs={"projections": 1, "flats": 1, "darks": 1, "flats_after": 1},
        outputs={"transmission": 1},
        block=32,
    )

    def compute(self, projections, flats, darks=None, flats_after=None):
        from .preprocess import normalize

        return {
            "transmission": normalize(projections, flats, darks, flats_after, cutoff=self.values["cutoff"])
        }


class RemoveZingers(Algorithm):
    """Replace zingers and hot pixels by the local median of their frame."""

    name = "tomo.remove_zingers"
    category = "tomography/preprocess"
    inputs = (Port("transmission", dtype="f", ndim=3, help="normalised projections (angles, rows, columns)"),)
    outputs = (Port("transmission", dtype="f", ndim=3, help="the same, outliers replaced"),)
    params = (
        Float(
            "threshold",
            0.1,
            min=0.001,
            max=10.0,
            unit="relative",
            help="a pixel further than this fraction from its local median is an outlier",
        ),
        Int("size", 3, min=3, max=15, unit="px", help="median window (odd)"),
    )
    split = Split(inputs={"transmission": 0}, outputs={"transmission": 0}, block=64)

    def compute(self, transmission):
        from .preprocess import remove_zingers

        return {
            "transmission": remove_zingers(transmission, self.values["threshold"], self.values["size"] | 1)
        }


class MinusLog(Algorithm):
    """Line integrals -ln(T), non-positive transmission clipped; output as sinograms."""

    name = "tomo.minus_log"
    category = "tomography/preprocess"
    inputs = (Port("transmission", dtype="f", ndim=3, help="normalised projections (angles, rows, columns)"),)
    outputs = (_SINO,)
    params = (
        Float("floor", 1e-6, min=1e-12, max=0.5, help="transmission values below this are clipped first"),
    )
    split = Split(inputs={"transmission": 1}, outputs={"sinograms": 0}, block=32)

    def compute(self, transmission):
        from .preprocess import minus_log

        return {
            "sinograms": np.ascontiguousarray(
                minus_log(transmission, self.values["floor"]).transpose(1, 0, 2)
            )
        }


class PhaseRetrieval(Algorithm):
    """Paganin single-distance phase retrieval; output as sinograms (-ln of the filtered intensity)."""

    name = "tomo.phase_retrieval"
    category = "tomography/preprocess"
    inputs = (Port("transmission", dtype="f", ndim=3, help="normalised projections (angles, rows, columns)"),)
    outputs = (_SINO,)
    params = (
        Float("energy", 25.0, min=1.0, max=200.0, unit="keV", help="X-ray energy"),
        Float("distance", 0.1, min=0.0, max=100.0, unit="m", help="sample-detector distance"),
        Float("pixel_size", 1.0, min=0.01, max=1000.0, unit="µm", help="detector pixel size at the sample"),
        Float(
            "delta_beta",
            1000.0,
            min=1.0,
            max=1e5,
            unit="",
            help="ratio delta/beta of the material (e.g. ~1000 for soft tissue at 20 keV)",
        ),
    )
    split = Split(inputs={"transmission": 0}, outputs={"sinograms": 1}, block=32)

    def compute(self, transmission):
        from .preprocess import paganin

        v = self.values
        out = paganin(transmission, v["pixel_size"] * 1e-6, v["distance"], v["energy"], v["delta_beta"])
        return {"sinograms": np.ascontiguousarray(out.transpose(1, 0, 2))}


class RemoveStripes(Algorithm):
    """Ring-artefact removal on sinograms: Vo's sorting + median filter, or Fourier-wavelet."""

    name = "tomo.remove_stripes"
    category = "tomography/preprocess"
    inputs = (_SINO,)
    outputs = (Port("sinograms", dtype="f", ndim=3, help="sinograms with stripes removed"),)
    params = (
        Choice(
            "method",
            "sorting",
            ("sorting", "fw", "none"),
            help="sorting: Vo et al. 2018 (algorithm 3); fw: Münch et al. 2009",
        ),
        Int(
            "size",
            None,
            optional=True,
            min=3,
            max=201,
            unit="px",
            help="sorting: median window across the detector (empty: width / 50, 5..31)",
        ),
        Int("level", None, optional=True, min=1, max=10, help="fw: wavelet levels (empty: automatic)"),
        Float("sigma", 1.0, min=0.1, max=20.0, help="fw: Gaussian damping width along the angles"),
    )
    split = Split(inputs={"sinograms": 0}, outputs={"sinograms": 0}, block=8)

    def compute(self, sinograms):
        from .preprocess import remove_stripes

        v = self.values
        if v["method"] == "sorting":
            return {"sinograms": remove_stripes(sinograms, "sorting", size=v["size"])}
        if v["method"] == "fw":
            return {"sinograms": remove_stripes(sinograms, "fw", level=v["level"], sigma=v["sigma"])}
        return {"sinograms": sinograms}


class FindCenter(Algorithm):
    """Find the rotation axis (sub-pixel) on one sinogram."""

    name = "tomo.find_center"
    category = "tomography/center"
    inputs = (_SINO, _THETA)
    outputs = (
        Port("center", kind="scalar", help="rotation axis, detector pixels from the first pixel's centre"),
    )
    params = (
        Choice(
            "method",
            "auto",
            ("auto", "vo", "com", "entropy"),
            help="vo: Fourier metric; com: centre-of-mass sinusoid; entropy: image-quality sweep",
        ),
        Int("slice", None, optional=True, min=0, help="sinogram to use (empty: the middle one)"),
    )

    def compute(self, sinograms, theta):
        from .center import find_center

        k = self.values["slice"]
        k = sinograms.shape[0] // 2 if k is None else min(k, sinograms.shape[0] - 1)
        return {
            "center": float(find_center(np.asarray(sinograms[k]), np.deg2rad(theta), self.values["method"]))
        }


class Align(Algorithm):
    """Motion correction by re-projection matching (per-projection shifts)."""

    name = "tomo.align"
    category = "tomography/align"
    inputs = (
        Port("sinograms", dtype="f", ndim=3, help="sinograms (rows, angles, columns), line integrals"),
        _THETA,
        Port("center", kind="scalar", optional=True, help="rotation axis (px)"),
    )
    outputs = (
        Port("sinograms", dtype="f", ndim=3, help="aligned sinograms"),
        Port("shifts", dtype="f", ndim=2, help="estimated motion (angles, 2) = (dy, dx), px"),
    )
    params = (
        Int("iterations", 20, min=1, max=200, help="reconstruct / re-project / register rounds"),
        Bool("vertical", True, help="also correct vertical motion"),
    )

    def compute(self, sinograms, theta, center=None):
        from .align import align_projections

        proj = np.asarray(sinograms).transpose(1, 0, 2)
        out, shifts = align_projections(
            proj,
            np.deg2rad(theta),
            center,
            self.values["iterations"],
            self.values["vertical"],
            progress=self.context.progress,
            cancelled=lambda: self.context.cancelled,
        )
        return {
            "sinograms": np.ascontiguousarray(out.transpose(1, 0, 2)),
            "shifts": shifts.astype(np.float32),
        }


class Reconstruct(Algorithm):
    """Reconstruct slices: FBP, gridrec (Fourier), SIRT or CGLS, on CPU (numba) or GPU (CuPy)."""

    name = "tomo.reconstruct"
    category = "tomography/reconstruct"
    inputs = (
        _SINO,
        _THETA,
        Port("center", kind="scalar", optional=True, help="rotation axis (px); default the detector middle"),
    )
    outputs = (Port("recon", dtype="f", ndim=3, help="slices (rows, N, N), attenuation per pixel"),)
    params = (
        Choice(
            "algorithm",
            "fbp",
            ("fbp", "gridrec", "sirt", "cgls"),
            help="fbp: filtered back-projection; gridrec: Fourier gridding; sirt/cgls: iterative",
        ),
        Choice(
            "filter",
            "ramp",
            FILTERS,
            help="FBP/gridrec filter (smoother: shepp-logan < cosine < hamming < hann)",
        ),
        Choice("backend", "numpy", ("numpy", "cupy"), help="numpy: CPU (numba, all cores); cupy: GPU"),
        Float(
            "center",
            None,
            optional=True,
            min=0.0,
            unit="px",
            help="rotation axis; overrides the 'center' input (empty: input or detector middle)",
        ),
        Int("iterations", 50, min=1, max=10000, help="SIRT/CGLS iterations"),
        Bool("nonnegative", True, help="SIRT/CGLS: clip negative values"),
        Bool("circle", False, help="zero the pixels outside the reconstruction circle"),
    )
    split = Split(inputs={"sinograms": 0}, outputs={"recon": 0}, block=8)

    def compute(self, sinograms, theta, center=None):
        from .recon import reconstruct

        v = self.values
        c = v["center"] if v["center"] is not None else center
        out = reconstruct(
            sinograms,
            np.deg2rad(np.asarray(theta, float)),
            None if c is None else float(c),
            v["algorithm"],
            v["filter"],
            v["backend"],
            iterations=v["iterations"],
            nonnegative=v["nonnegative"],
            circle=v["circle"],
            progress=self.context.progress,
        )
        return {"recon": out}  # cupy stays on the GPU: no hidden device-to-host copy


ALGORITHMS: list[type[Algorithm]] = [
    Normalize,
    RemoveZingers,
    MinusLog,
    PhaseRetrieval,
    RemoveStripes,
    FindCenter,
    Align,
    Reconstruct,
]


def describe_all() -> list[dict[str, Any]]:
    """Declarations of every tomography step (for docs and forms)."""
    return [a.describe() for a in ALGORITHMS]
