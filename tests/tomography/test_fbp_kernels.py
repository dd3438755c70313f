"""FBP's fast CPU back-projectors (``_fbp_kernels``) against the reference kernel (``_kernels``).

Each fast kernel (the AVX-512 permute kernel where the CPU has AVX-512, and the gather kernel
that runs elsewhere) is run on the same padded, filtered, upsampled phantom sinograms as the
reference; it must give the reference's image to float32 rounding (max |difference| <= 1e-5 of
the image's range) for odd sizes, off-centre axes, angle counts that are not a multiple of the
blocks, one angle, and several slices at once; on integer-valued samples, where every sum is
exact, it must give the reference's image exactly (the same samples picked); and ``fbp``
(which runs it) must keep its accuracy on the phantom.
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

#: the fast kernels this machine can run (the permute kernel needs AVX-512)
KERNELS = [
    pytest.param(_fbp_kernels.backproject_nearest_gather, id="gather"),
    pytest.param(
        _fbp_kernels.backproject_nearest_permute,
        id="permute",
        marks=pytest.mark.skipif(
            not _fbp_kernels.PERMUTE, reason="the CPU (or NUMBA_CPU_NAME) has no AVX-512"
        ),
    ),
]


def _padded(q: np.ndarray, n: int, center: float, upsample: int) -> tuple[np.ndarray, float]:
    """The zero-padded upsampled projections and the padded axis, as primitives_cpu builds them."""
    ns, na, ndu = q.shape
    left, width = pad_geometry(ndu // upsample, n, center)
    qp = np.zeros((ns, na, width * upsample), np.float32)
    qp[..., left * upsample : left * upsample + ndu] = q
    return qp, float(center + left)


def _both(sino: np.ndarray, theta: np.ndarray, center: float, n: int, upsample: int = UPSAMPLE, kernel=None):
    q = filter_sinogram(sino, "ramp", np, "edge", upsample)
    qp, shift = _padded(q, n, center, upsample)
    cos_t, sin_t = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    w = angle_weight(theta)
    ref = _kernels.backproject_nearest(qp, cos_t, sin_t, shift, n, upsample, w)
    fast = (kernel or _fbp_kernels.backproject_nearest)(qp, cos_t, sin_t, shift, n, upsample, w)
    public = backproject(q, theta, center, n, w, np, upsample)
    return ref, fast, public


def _integer_samples(sino, theta, center, n, upsample, kernel):
    """Reference and fast image of random integer samples (exact float32 sums: equal iff same samples)."""
    q = filter_sinogram(sino, "ramp", np, "edge", upsample)
    qp, shift = _padded(q, n, center, upsample)
    qp = np.random.default_rng(5).integers(0, 4096, qp.shape).astype(np.float32)
    cos_t, sin_t = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    ref = _kernels.backproject_nearest(qp, cos_t, sin_t, shift, n, upsample, 1.0)
    return ref, kernel(qp, cos_t, sin_t, shift, n, upsample, 1.0)


def _assert_same(ref: np.ndarray, fast: np.ndarray) -> None:
    assert fast.shape == ref.shape and fast.dtype == np.float32
    span = float(ref.max() - ref.min())
    assert span > 0
    diff = float(np.abs(fast - ref).max())
    assert diff <= TOLERANCE * span, (diff, span)


CASES = [
    (128, 180, 0.0),  # even size, angles a multiple of the block
    (127, 181, 0.0),  # odd size, a lone angle after the last group of four
    (131, 183, 3.7),  # odd size, three angles left over, axis to the right
    (96, 37, -5.2),  # fewer angles than two blocks, axis to the left
    (67, 7, 1.5),  # fewer angles than one block
    (65, 1, 0.0),  # a single angle
]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(("n", "n_angles", "axis_offset"), CASES)
def test_fast_backprojector_equals_the_reference(n, n_angles, axis_offset, kernel):
    theta = np.linspace(0, np.pi, n_angles, endpoint=False) + 0.013  # not on the axes
    center = (n - 1) / 2.0 + axis_offset
    sino = project_phantom(n, theta, center=center)
    ref, fast, public = _both(sino, theta, center, n, kernel=kernel)
    _assert_same(ref, fast)
    dispatched = (
        _fbp_kernels.backproject_nearest_permute
        if _fbp_kernels.PERMUTE
        else _fbp_kernels.backproject_nearest_gather
    )
    if kernel is dispatched:
        np.testing.assert_array_equal(public, fast)  # the public projector runs this kernel


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(
    ("n", "n_angles", "axis_offset"),
    CASES + [(256, 360, 0.0), (130, 96, -0.5), (16, 12, 0.0), (17, 13, -0.4), (9, 5, 0.0)],
)
def test_fast_backprojector_picks_the_reference_samples(n, n_angles, axis_offset, kernel):
    """Integer samples: the sums are exact, so any other sample picked would show as a difference."""
    theta = np.linspace(0, np.pi, n_angles, endpoint=False) + 0.013
    center = (n - 1) / 2.0 + axis_offset
    sino = project_phantom(n, theta, center=center)
    ref, fast = _integer_samples(sino, theta, center, n, UPSAMPLE, kernel)
    np.testing.assert_array_equal(fast, ref)


def test_upsampling_beyond_the_permute_window_runs_the_gather_kernel():
    """upsample > 4: 16 pixels' samples may span more than 64; the dispatcher must not use the permute kernel."""
    n, theta = 70, np.linspace(0, np.pi, 24, endpoint=False) + 0.013
    sino = project_phantom(n, theta)
    ref, fast, _ = _both(sino, theta, (n - 1) / 2.0, n, upsample=6)
    _assert_same(ref, fast)
    ref, fast = _integer_samples(sino, theta, (n - 1) / 2.0, n, 6, _fbp_kernels.backproject_nearest)
    np.testing.assert_array_equal(fast, ref)


@pytest.mark.parametrize("kernel", KERNELS)
def test_fast_backprojector_several_slices_and_upsampling_steps(kernel):
    n, theta = 80, np.linspace(0, np.pi, 45, endpoint=False)
    sino = project_phantom(n, theta, rows=[20, 40, 60], height=n)
    for upsample in (2, 3, 4):
        ref, fast, _ = _both(sino, theta, (n - 1) / 2.0, n, upsample, kernel)
        for s in range(3):
            _assert_same(ref[s], fast[s])


@pytest.mark.parametrize("kernel", KERNELS)
def test_fast_backprojector_on_a_detector_wider_than_the_image(kernel):
    """A detector wider than the output grid (padding on one side only) and 360-degree angles."""
    n, nd = 90, 121
    theta = np.linspace(0, 2 * np.pi, 250, endpoint=False)
    rng = np.random.default_rng(3)
    sino = rng.standard_normal((1, theta.size, nd)).astype(np.float32)
    ref, fast, _ = _both(sino, theta, (nd - 1) / 2.0 + 2.25, n, kernel=kernel)
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
