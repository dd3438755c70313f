"""FBP's fast CPU back-projector (``_fbp_kernels``) against the reference kernel (``_kernels``).

Both are run on the same padded, filtered, upsampled phantom sinograms; the fast one must give
the reference's image to float32 rounding (max |difference| <= 1e-5 of the image's range) for
odd sizes, off-centre axes, angle counts that are not a multiple of the blocks, one angle,
and several slices at once; and ``fbp`` (which runs it) must keep its accuracy on the phantom.
"""

from __future__ import annotations

import numpy as np
import pytest

from daisy_widgets.tomography import _fbp_kernels, _kernels
from daisy_widgets.tomography.fbp import UPSAMPLE, fbp
from daisy_widgets.tomography.filters import filter_sinogram
from daisy_widgets.tomography.geometry import angle_weight, pad_geometry
from daisy_widgets.tomography.phantom import project_phantom
from daisy_widgets.tomography.projectors import backproject

from .conftest import rmse_in_circle

TOLERANCE = 1e-5


def _padded(q: np.ndarray, n: int, center: float, upsample: int) -> tuple[np.ndarray, float]:
    """The zero-padded upsampled projections and the padded axis, as primitives_cpu builds them."""
    ns, na, ndu = q.shape
    left, width = pad_geometry(ndu // upsample, n, center)
    qp = np.zeros((ns, na, width * upsample), np.float32)
    qp[..., left * upsample : left * upsample + ndu] = q
    return qp, float(center + left)


def _both(sino: np.ndarray, theta: np.ndarray, center: float, n: int, upsample: int = UPSAMPLE):
    q = filter_sinogram(sino, "ramp", np, "edge", upsample)
    qp, shift = _padded(q, n, center, upsample)
    cos_t, sin_t = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    w = angle_weight(theta)
    ref = _kernels.backproject_nearest(qp, cos_t, sin_t, shift, n, upsample, w)
    fast = _fbp_kernels.backproject_nearest(qp, cos_t, sin_t, shift, n, upsample, w)
    public = backproject(q, theta, center, n, w, np, upsample)
    return ref, fast, public


def _assert_same(ref: np.ndarray, fast: np.ndarray) -> None:
    assert fast.shape == ref.shape and fast.dtype == np.float32
    span = float(ref.max() - ref.min())
    assert span > 0
    diff = float(np.abs(fast - ref).max())
    assert diff <= TOLERANCE * span, (diff, span)


@pytest.mark.parametrize(
    ("n", "n_angles", "axis_offset"),
    [
        (128, 180, 0.0),  # even size, angles a multiple of the block
        (127, 181, 0.0),  # odd size, a lone angle after the last group of four
        (131, 183, 3.7),  # odd size, three angles left over, axis to the right
        (96, 37, -5.2),  # fewer angles than two blocks, axis to the left
        (67, 7, 1.5),  # fewer angles than one block
        (65, 1, 0.0),  # a single angle
    ],
)
def test_fast_backprojector_equals_the_reference(n, n_angles, axis_offset):
    theta = np.linspace(0, np.pi, n_angles, endpoint=False) + 0.013  # not on the axes
    center = (n - 1) / 2.0 + axis_offset
    sino = project_phantom(n, theta, center=center)
    ref, fast, public = _both(sino, theta, center, n)
    _assert_same(ref, fast)
    np.testing.assert_array_equal(public, fast)  # the public projector runs the fast kernel


def test_fast_backprojector_several_slices_and_upsampling_steps():
    n, theta = 80, np.linspace(0, np.pi, 45, endpoint=False)
    sino = project_phantom(n, theta, rows=[20, 40, 60], height=n)
    for upsample in (2, 3, 4):
        ref, fast, _ = _both(sino, theta, (n - 1) / 2.0, n, upsample)
        for s in range(3):
            _assert_same(ref[s], fast[s])


def test_fast_backprojector_on_a_detector_wider_than_the_image():
    """A detector wider than the output grid (padding on one side only) and 360-degree angles."""
    n, nd = 90, 121
    theta = np.linspace(0, 2 * np.pi, 250, endpoint=False)
    rng = np.random.default_rng(3)
    sino = rng.standard_normal((1, theta.size, nd)).astype(np.float32)
    ref, fast, _ = _both(sino, theta, (nd - 1) / 2.0 + 2.25, n)
    _assert_same(ref, fast)


def test_fbp_accuracy_on_the_phantom_with_the_fast_kernel(phantom256, monkeypatch):
    """The RMSE against the phantom with the fast kernel equals the reference kernel's."""
    sino, theta, truth = phantom256
    fast = fbp(sino[None], theta, (sino.shape[-1] - 1) / 2.0)[0]
    monkeypatch.setattr(_fbp_kernels, "backproject_nearest", _kernels.backproject_nearest)
    ref = fbp(sino[None], theta, (sino.shape[-1] - 1) / 2.0)[0]
    _assert_same(ref, fast)
    assert rmse_in_circle(fast, truth) == pytest.approx(rmse_in_circle(ref, truth), rel=1e-4)
    assert rmse_in_circle(fast, truth) < 0.05
