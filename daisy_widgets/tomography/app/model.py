"""The tomography app's model: the scan, the chosen parameters and the results, observable.

:class:`TomographyModel` is a :class:`traitlets.HasTraits`; the stages (views)
observe it and write the user's choices into it, the controller reads it and
writes the results back. It imports no widget: a test or a notebook drives it
with no page at all.

Big arrays are never traits: a trait holds a *handle* (the lazy
:class:`~daisy_widgets.tomography.io.Scan`, or a result object compared by
identity) and a new handle is a new version. Related changes are made inside
``model.hold_trait_notifications()`` so observers see them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Float, HasTraits, Int, List, Tuple, Unicode

from .logic import PreprocessSettings

#: the preprocessing steps, in the order they run: (key, algorithm name)
PREPROCESS_STEPS = (
    ("normalize", "tomo.normalize"),
    ("zingers", "tomo.remove_zingers"),
    ("stripes", "tomo.remove_stripes"),
    ("phase", "tomo.phase_retrieval"),
)
#: the model traits a live preview depends on
PREVIEW_INPUTS = (
    "preview_row",
    "steps_on",
    "step_values",
    "preprocess_problems",
    "center",
    "algorithm",
    "filter",
    "iterations",
    "binning",
    "motion_use",
)


def algorithm_class(name: str) -> type:
    """The workflow step class registered as ``name`` (e.g. ``"tomo.normalize"``)."""
    from ..algorithms import ALGORITHMS

    return {a.name: a for a in ALGORITHMS}[name]


def default_step_values() -> dict[str, dict[str, Any]]:
    """The declared defaults of each preprocessing step, validated: ``{key: {param: value}}``."""
    out = {}
    for key, name in PREPROCESS_STEPS:
        cls = algorithm_class(name)
        out[key] = cls.coerce_params(cls.defaults())
    return out


@dataclass(eq=False)
class PreviewResult:
    """One computed preview slice (a handle: compared by identity).

    Attributes
    ----------
    snapshot : the settings it was computed with (:meth:`TomographyController.snapshot`)
    sinogram : float32 (angles, cols), the preprocessed sinogram of the row
    image : float32 (cols, cols) (binned: (cols/b, cols/b)), attenuation per original pixel
    seconds : compute time, s
    """

    snapshot: dict[str, Any]
    sinogram: np.ndarray
    image: np.ndarray
    seconds: float


@dataclass(eq=False)
class MotionResult:
    """A motion estimate on a block of rows (a handle).

    Attributes
    ----------
    rows : the detector rows used
    before, after : float32 (rows, angles, cols) sinograms before and after the correction
    shifts : float (angles, 2) estimated (dy, dx) shift of each projection, px
    """

    rows: slice
    before: np.ndarray
    after: np.ndarray
    shifts: np.ndarray


@dataclass(eq=False)
class VolumeResult:
    """A reconstructed volume (a handle).

    Attributes
    ----------
    data : float32 (slices, cols, cols)
    params : the parameters used (written to the file's attributes)
    first_slice : detector row of ``data[0]``
    input_path : the scan it came from
    """

    data: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    first_slice: int = 0
    input_path: str | None = None


class TomographyModel(HasTraits):
    """Everything the tomography app's stages show and change (see the module docstring).

    Traits by stage: 1 ``scan``, ``service_scans``, ``layout_form`` (the candidates of a file of unknown
    layout, for the layout form); 3 ``steps_on``, ``step_values``,
    ``preprocess_problems``; 4 ``center`` (px), ``center_method``, ``sweep``, ``sweep_choice``;
    5 ``motion``, ``aligned``, ``motion_use``, ``motion_rows`` (±rows), ``align_params``; 6 ``preview_row``, ``algorithm``, ``filter``,
    ``iterations``, ``binning``, ``auto_preview``, ``preview``, ``preview_state``;
    7 ``slices`` (first, last row), ``recon_algorithm``, ``recon_filter``, ``backend``, ``engine``;
    8 ``volume``, ``saved_paths``; and the message bar: ``message``, ``message_error``.
    """

    scan = AnyTrait(None, allow_none=True)
    service_scans = List()
    layout_form = Dict()  # inspection of a file waiting for its layout ({} when none); see .layout_choice

    steps_on = Dict()
    step_values = Dict()
    preprocess_problems = Dict()

    center = Float(None, allow_none=True)
    center_method = Unicode("")
    sweep = List()
    sweep_choice = Int(-1)

    motion = AnyTrait(None, allow_none=True)
    aligned = AnyTrait(None, allow_none=True)
    motion_use = Bool(False)
    motion_rows = Int(8)
    align_params = Dict()

    preview_row = Int(0)
    algorithm = Unicode("fbp")
    filter = Unicode("ramp")
    iterations = Int(50)
    binning = Int(0)
    auto_preview = Bool(True)
    preview = AnyTrait(None, allow_none=True)
    preview_state = Unicode("")

    slices = Tuple(Int(), Int(), default_value=(0, 0))
    recon_algorithm = Unicode("fbp")
    recon_filter = Unicode("ramp")
    backend = Unicode("numpy")
    engine = Unicode("dask")

    volume = AnyTrait(None, allow_none=True)
    saved_paths = List()

    message = Unicode("")
    message_error = Bool(False)

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        if not self.step_values:
            self.step_values = default_step_values()
        if not self.align_params:
            cls = algorithm_class("tomo.align")
            self.align_params = cls.coerce_params(cls.defaults())
        if not self.steps_on:
            self.steps_on = {key: key == "normalize" for key, _ in PREPROCESS_STEPS}
        self.errors: list[str] = []  # every error shown, in order (not a trait: a log)

    @property
    def width(self) -> int:
        """Detector width of the open scan (columns), 0 with none."""
        return int(self.scan.shape[2]) if self.scan is not None else 0

    @property
    def center_or_middle(self) -> float:
        """The chosen centre, else the detector middle, px."""
        return float(self.center) if self.center is not None else (self.width - 1) / 2.0

    def preprocess_settings(self) -> PreprocessSettings:
        """The enabled steps with their values; raises ValidationError when a form holds bad values."""
        from ...core.errors import ValidationError

        if self.preprocess_problems:
            raise ValidationError("preprocessing", dict(self.preprocess_problems))
        on, v = self.steps_on, self.step_values
        return PreprocessSettings(
            normalize=v["normalize"],
            zingers=v["zingers"] if on.get("zingers") else None,
            phase=v["phase"] if on.get("phase") else None,
            stripes=v["stripes"] if on.get("stripes") else None,
        )

    def scan_opened(self, scan: Any) -> None:
        """Take a newly opened scan: the later stages start again from its geometry."""
        na, nr, nc = scan.shape
        with self.hold_trait_notifications():
            self.scan = scan  # first: views set their ranges before the values below arrive
            self.center, self.center_method = None, ""
            self.sweep, self.sweep_choice = [], -1
            self.motion, self.aligned, self.motion_use = None, None, False
            self.preview_row = nr // 2
            self.slices = (0, nr - 1) if nr <= 64 else (nr // 2 - 16, nr // 2 + 15)

    def say(self, text: str, error: bool = False) -> None:
        """Put a message in the message bar (an error is also kept in :attr:`errors`)."""
        if error:
            self.errors.append(text)
        with self.hold_trait_notifications():
            self.message_error = error
            self.message = text


__all__ = [
    "TomographyModel",
    "PreviewResult",
    "MotionResult",
    "VolumeResult",
    "PREPROCESS_STEPS",
    "PREVIEW_INPUTS",
    "algorithm_class",
    "default_step_values",
]
