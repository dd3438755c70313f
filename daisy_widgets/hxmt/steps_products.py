"""HXMT product steps: light curves, spectra, responses, the blind-detector background
(``hxmt.lcgen``, ``hxmt.specgen``, ``hxmt.rspgen``, ``hxmt.bkgmap``), and writing them all
as OGIP FITS files (``hxmt.write_products``). Products are the dataclasses of :mod:`.products`.
"""

from __future__ import annotations

from ..core.algorithm import Algorithm
from ..core.params import FilePath, Float, Int, Port
from . import product_files, products
from .mission import spec
from .step_params import DETECTORS, INSTRUMENT


class LcGen(Algorithm):
    """Dead-time corrected light curve of the screened events (helcgen/melcgen/lelcgen)."""

    name = "hxmt.lcgen"
    category = "hxmt/products"
    inputs = (
        Port("events", "table", help="screened events"),
        Port("raw", "array", help="dead-time event times (s)"),
        Port("gti", "array", ndim=2, help="GTIs (n, 2), s"),
    )
    outputs = (Port("lc", "object", help="LightCurve"),)
    params = (INSTRUMENT, Float("binsize", 1.0, min=1e-5, unit="s", help="light-curve bin size"), DETECTORS)

    def compute(self, events, raw, gti):
        v = self.values
        n = products.used_detectors(v["instrument"], v["detectors"])
        return {"lc": products.make_lightcurve(events["TIME"], raw, gti, v["binsize"], v["instrument"], n)}


class SpecGen(Algorithm):
    """PHA spectrum of the screened events with the dead-time corrected exposure (hespecgen/...)."""

    name = "hxmt.specgen"
    category = "hxmt/products"
    inputs = (
        Port("events", "table", help="screened events"),
        Port("raw", "array", help="dead-time event times (s)"),
        Port("gti", "array", ndim=2, help="GTIs (n, 2), s"),
    )
    outputs = (Port("spectrum", "object", help="Spectrum"),)
    params = (INSTRUMENT, DETECTORS)

    def compute(self, events, raw, gti):
        v = self.values
        n = products.used_detectors(v["instrument"], v["detectors"])
        return {"spectrum": products.make_spectrum(events["PI"], raw, gti, v["instrument"], n)}


class RspGen(Algorithm):
    """Response matrix (RMF with the effective area folded in) from the CALDB (herspgen/merspgen/lerspgen)."""

    name = "hxmt.rspgen"
    category = "hxmt/products"
    outputs = (Port("response", "object", help="Response"),)
    params = (INSTRUMENT, DETECTORS)

    def compute(self):
        v = self.values
        return {
            "response": products.make_response(
                v["instrument"], products.used_detectors(v["instrument"], v["detectors"])
            )
        }


class BkgMap(Algorithm):
    """Background spectrum and light curve from the blind detectors, scaled to the selected ones (hebkgmap/...)."""

    name = "hxmt.bkgmap"
    category = "hxmt/products"
    inputs = (
        Port("blind", "table", help="screened blind-detector events"),
        Port("raw_blind", "array", help="dead-time event times of the blind detectors (s)"),
        Port("gti", "array", ndim=2, help="GTIs (n, 2), s"),
    )
    outputs = (
        Port("spectrum", "object", help="background Spectrum (BACKSCAL = number of blind detectors)"),
        Port("lc", "object", help="background LightCurve scaled to the selected detectors"),
    )
    params = (INSTRUMENT, Float("binsize", 1.0, min=1e-5, unit="s", help="light-curve bin size"), DETECTORS)

    def compute(self, blind, raw_blind, gti):
        from .caldb import load_calibration

        v = self.values
        nb = int(load_calibration(v["instrument"]).blind_detectors.size)
        n = products.used_detectors(v["instrument"], v["detectors"])
        sp = products.make_spectrum(blind["PI"], raw_blind, gti, v["instrument"], nb, kind="BKG")
        lc = products.make_lightcurve(
            blind["TIME"], raw_blind, gti, v["binsize"], v["instrument"], nb, scale=n / nb, kind="BKG"
        )
        return {"spectrum": sp, "lc": lc}


class WriteProducts(Algorithm):
    """Write the products (X_screen.fits, X_spec.pha, X.rsp, X_bkg.pha, X_lc.fits, X_bkg_lc.fits, X_profile.fits)."""

    name = "hxmt.write_products"
    category = "hxmt/output"
    inputs = (
        Port("events", "table", help="screened events"),
        Port("gti", "array", ndim=2, help="GTIs"),
        Port("lc", "object", help="LightCurve"),
        Port("spectrum", "object", help="Spectrum"),
        Port("response", "object", help="Response"),
        Port("bkg_spectrum", "object", help="background Spectrum"),
        Port("bkg_lc", "object", help="background LightCurve"),
        Port("meta", "object", optional=True, help="keywords"),
        Port("profile", "object", optional=True, help="PulseProfile"),
        Port("z2", "object", optional=True, help="Z^2 search result"),
    )
    outputs = (Port("files", "object", help="list of the files written"),)
    params = (
        INSTRUMENT,
        FilePath("out_dir", None, help="folder for the products"),
        Int(
            "pi_min",
            None,
            min=0,
            optional=True,
            unit="chan",
            help="screened PI range: light-curve keywords, spectrum QUALITY, response channels",
        ),
        Int(
            "pi_max",
            None,
            min=0,
            optional=True,
            unit="chan",
            help="screened PI range: light-curve keywords, spectrum QUALITY, response channels",
        ),
        Int(
            "group_min_counts",
            None,
            min=1,
            optional=True,
            unit="count",
            help="write a GROUPING column with at least this many counts per group (default: none)",
        ),
    )

    def compute(
        self, events, gti, lc, spectrum, response, bkg_spectrum, bkg_lc, meta=None, profile=None, z2=None
    ):
        x = spec(self.values["instrument"]).name
        s = spec(x)
        pr = (
            self.values["pi_min"] if self.values["pi_min"] is not None else s.band[0],
            self.values["pi_max"] if self.values["pi_max"] is not None else s.band[1],
        )
        pf = product_files
        grp = self.values["group_min_counts"]
        hl = {
            f"{x}_screen.fits": pf.events_hdulist(events, gti, x, meta),
            f"{x}_spec.pha": pf.spectrum_hdulist(
                spectrum,
                meta,
                backfile=f"{x}_bkg.pha",
                respfile=f"{x}.rsp",
                pi_range=pr,
                group_min_counts=grp,
            ),
            f"{x}_bkg.pha": pf.spectrum_hdulist(bkg_spectrum, meta, respfile=f"{x}.rsp", pi_range=pr),
            f"{x}.rsp": pf.response_hdulist(response, meta, pi_range=pr),
            f"{x}_lc.fits": pf.lightcurve_hdulist(lc, meta, pr),
            f"{x}_bkg_lc.fits": pf.lightcurve_hdulist(bkg_lc, meta, pr),
        }
        if profile is not None:
            zval = float(z2["best_z2"]) if z2 is not None else profile.z2
            hl[f"{x}_profile.fits"] = pf.profile_hdulist(
                profile.phase,
                profile.counts,
                profile.frequency,
                profile.epoch,
                x,
                meta,
                zval,
                derivatives=getattr(profile, "derivatives", ()),
                ephemeris=getattr(profile, "ephemeris", None),
            )
        written = pf.write_hdulists(self.values["out_dir"], hl)
        pf.release_tables(hl.values())
        return {"files": [str(p) for p in written.values()]}
