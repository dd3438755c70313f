"""Model and controller of the HXMT app's "My products" stage: the user's own spectrum,
background, response (and ARF), light curve or event file, the fit options of ``daisy hxmt fit``,
and what came out. No widgets here: a test drives it with the model alone.

The results (a :class:`~daisy_widgets.hxmt.fit_result.FitResult`, a light curve, a power
spectrum) are attributes, not traits; ``fit_version`` / ``timing_version`` are bumped when they
change. ``problems`` maps a field name to what is wrong with it, for the view to show at the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, Float, HasTraits, Int, Unicode

from ...core.errors import DaisyError
from ..fit import fit_spectra
from ..fit_data import DataFiles
from ..ogip import OGIPError
from ..user_products import check_fit_inputs, lightcurve_from_events, power_spectrum_of, read_lightcurve

#: nominal bands (keV) by INSTRUME, used when the band fields are empty
NOMINAL_BANDS = {"HE": (28.0, 250.0), "ME": (10.0, 30.0), "LE": (1.0, 10.0)}


class MyProductsModel(HasTraits):
    """The state of the "My products" stage (see the module docstring)."""

    root = Unicode("")
    spectrum = Unicode("")
    background = Unicode("")
    response = Unicode("")
    arf = Unicode("")
    band_lo = Float(None, allow_none=True)
    band_hi = Float(None, allow_none=True)
    model_name = Unicode("powerlaw")
    stat = Unicode("wstat")
    backend = Unicode("auto")
    lightcurve = Unicode("")
    events = Unicode("")
    binsize = Float(1.0)
    segment = Float(16.0)
    problems = Dict()
    message = Unicode("")
    busy = Bool(False)
    fit_version = Int(0)
    timing_version = Int(0)

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.fit_result: Any = None
        self.lc: Any = None
        self.pds: dict | None = None

    def band(self) -> tuple[float, float] | None:
        """The band typed in, else the spectrum's instrument's nominal band, else None (all channels)."""
        if self.band_lo is not None and self.band_hi is not None:
            return (float(self.band_lo), float(self.band_hi))
        try:
            from astropy.io import fits

            inst = str(fits.getval(self.spectrum, "INSTRUME", ext=1)).strip().upper()
        except (OSError, KeyError, IndexError, ValueError):
            return None
        return NOMINAL_BANDS.get(inst)

    # -- the controller's two actions ----------------------------------------------------
    def fit(self) -> bool:
        """Check the inputs (problems shown per field), then fit; True when a fit came out."""
        band = self.band()
        problems = check_fit_inputs(self.spectrum, self.background, self.response, self.arf, band)
        self.problems = problems
        if problems:
            self.message = "Fix the fields marked in red."
            return False
        files = DataFiles(
            Path(self.spectrum),
            Path(self.background) if self.background.strip() else None,
            Path(self.response) if self.response.strip() else None,
            Path(self.arf) if self.arf.strip() else None,
            band,
            Path(self.spectrum).name,
        )
        self.busy = True
        try:
            res = fit_spectra([files], self.model_name, self.stat, self.backend)
        except (DaisyError, ValueError) as exc:
            self.message = f"The fit failed: {exc}"
            return False
        finally:
            self.busy = False
        self.fit_result = res
        g, e = res.photon_index, res.photon_index_err
        self.message = (
            f"{res.model}: photon index {g:.4f} ± {e:.4f}, norm {res.norm:.4g} ± {res.norm_err:.2g} "
            f"({res.stat} {res.statistic:.1f} for {res.dof} dof, {res.backend})"
        )
        self.fit_version += 1
        return True

    def load_timing(self) -> bool:
        """Read the light curve (or bin the events), then its power spectrum; True when done."""
        problems: dict[str, str] = {}
        lc = None
        try:
            if self.lightcurve.strip():
                lc = read_lightcurve(self.lightcurve)
            elif self.events.strip():
                lc = lightcurve_from_events(self.events, self.binsize)
            else:
                problems["lightcurve"] = "pick a light curve or an event file"
        except OGIPError as exc:
            problems["lightcurve" if self.lightcurve.strip() else "events"] = str(exc)
        pds = None
        if lc is not None:
            try:
                pds = power_spectrum_of(lc, self.segment)
            except OGIPError as exc:
                problems["segment"] = str(exc)
        self.problems = problems
        if lc is None:
            self.message = "Fix the fields marked in red."
            return False
        self.lc, self.pds = lc, pds
        self.message = f"light curve: {len(lc.time)} bins of {lc.dt:g} s" + (
            f"; power spectrum of {pds['n_segments']} segments" if pds else ""
        )
        self.timing_version += 1
        return True


__all__ = ["MyProductsModel", "NOMINAL_BANDS"]
