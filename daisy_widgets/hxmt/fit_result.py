"""The result of a spectral fit (:func:`~daisy_widgets.hxmt.fit.fit_spectra`), either backend."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .fit_data import DataFiles, FitData


@dataclass
class FitResult:
    """Best-fit parameters with 1-sigma errors, the statistic and its degrees of freedom."""

    model: str
    stat: str
    backend: str
    statistic: float
    dof: int
    parameters: dict[str, tuple[float, float]]
    bands: list[tuple[float, float]]
    files: list[DataFiles]
    cross_normalisations: list[tuple[str, float, float]] = field(default_factory=list)
    data: list[FitData] = field(default_factory=list, repr=False)

    @property
    def photon_index(self) -> float:
        return self.parameters["photon_index"][0]

    @property
    def photon_index_err(self) -> float:
        return self.parameters["photon_index"][1]

    @property
    def norm(self) -> float:
        return self.parameters["norm"][0]

    @property
    def norm_err(self) -> float:
        return self.parameters["norm"][1]

    def to_json(self) -> dict:
        """The result as one JSON-able dict (keys documented in ``docs/hxmt.md``)."""

        def num(x):
            return None if x is None or not np.isfinite(x) else float(x)

        one = len(self.bands) == 1
        return {
            "photon_index": num(self.photon_index),
            "photon_index_err": num(self.photon_index_err),
            "norm": num(self.norm),
            "norm_err": num(self.norm_err),
            "statistic": num(self.statistic),
            "stat": self.stat,
            "dof": int(self.dof),
            "model": self.model,
            "band": list(self.bands[0]) if one else [list(b) for b in self.bands],
            "backend": self.backend,
            "parameters": {k: {"value": num(v), "error": num(e)} for k, (v, e) in self.parameters.items()},
            "cross_normalisations": [
                {"data": lab, "value": num(v), "error": num(e)} for lab, v, e in self.cross_normalisations
            ],
            "files": [
                {
                    "spectrum": str(f.spectrum),
                    "background": None if f.background is None else str(f.background),
                    "response": None if f.response is None else str(f.response),
                    "arf": None if f.arf is None else str(f.arf),
                }
                for f in self.files
            ],
        }
