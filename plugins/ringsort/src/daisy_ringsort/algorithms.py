"""The ``ringsort.remove_stripes`` algorithm: its declaration and the wrapper of the C++ kernel."""

from __future__ import annotations

import numpy as np

from daisy_widgets.core import Algorithm, Int, Port, Split

from . import _ringsort


def remove_stripes(sinograms: np.ndarray, size: int = 21, out: np.ndarray | None = None) -> np.ndarray:
    """Remove stripes (ring artefacts) by sorting, Vo et al. 2018, algorithm 3.

    Parameters
    ----------
    sinograms
        (slices, angles, detector) or one (angles, detector) sinogram. C-contiguous
        float32 is passed to the C++ kernel without a copy; anything else is converted once.
    size
        Median window across the detector, pixels (odd, 3 .. detector width).
    out
        Where to write the result: C-contiguous float32 of the same shape, not the input.

    Returns
    -------
    numpy.ndarray
        float32, the shape of ``sinograms``.

    Raises
    ------
    ValueError
        From the kernel: an even or too large window, NaN in the data (naming slice,
        angle and pixel).
    """
    a = np.ascontiguousarray(sinograms, dtype=np.float32)
    a3 = a[None] if a.ndim == 2 else a
    if a3.ndim != 3:
        raise ValueError(
            f"sinograms: expected (slices, angles, detector) or (angles, detector); got {a.shape}"
        )
    if out is None:
        out = np.empty_like(a)
    _ringsort.remove_stripes(a3, out[None] if out.ndim == 2 else out, int(size))
    return out


class RemoveStripesSorting(Algorithm):
    """Ring-artefact removal by sorting and a median across the detector (Vo et al. 2018), C++ kernel."""

    name = "ringsort.remove_stripes"
    category = "tomography/preprocess"
    inputs = (Port("sinograms", dtype="f", ndim=3, help="sinograms (slices, angles, detector)"),)
    outputs = (Port("sinograms", dtype="f", ndim=3, help="sinograms with stripes removed, float32"),)
    params = (Int("size", 21, min=3, max=201, unit="px", help="median window across the detector (odd)"),)
    split = Split(inputs={"sinograms": 0}, outputs={"sinograms": 0}, block=8)

    @classmethod
    def check_params(cls, values):
        return {} if values["size"] % 2 else {"size": f"must be odd; got {values['size']}"}

    def compute(self, sinograms):
        return {"sinograms": remove_stripes(sinograms, self.values["size"])}


ALGORITHMS = [RemoveStripesSorting]
