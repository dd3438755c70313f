"""The HXMT pipeline steps as Daisy algorithms (entry point ``hxmt``), mirroring HXMTDAS.

``hxmt.load_l1`` -> ``hxmt.pical`` -> (``hxmt.grade`` ME | ``hxmt.recon`` LE) -> ``hxmt.gtigen``
-> ``hxmt.screen`` -> ``hxmt.lcgen``, ``hxmt.specgen``, ``hxmt.rspgen``, ``hxmt.bkgmap``
-> ``hxmt.barycorr`` -> ``hxmt.fold``, ``hxmt.z2search``, ``hxmt.powspec`` -> ``hxmt.write_products``.
Tables are numpy structured arrays; light curves, spectra and responses are the
dataclasses of :mod:`.products`.
"""

from __future__ import annotations

from ..core.algorithm import Algorithm
from ..core.params import Choice, FilePath, Float, Int, IntList, Port, Text
from . import calibrate, l1io, product_files, products
from . import gti as gtimod
from . import screen as scr
from .mission import DEFAULT_GTI_EXPR, INSTRUMENTS, spec
from .timing_algorithms import BaryCorr, Fold, PowSpec, Z2Search

_INST = Choice(
    "instrument", "HE", INSTRUMENTS, help="telescope: HE (20-250 keV), ME (5-30 keV) or LE (1-10 keV)"
)
_DETS = IntList(
    "detectors",
    None,
    min=0,
    optional=True,
    help="detector IDs to use, e.g. '0-15,17' (default: all open, non-blind detectors)",
)


def _pi_check(values: dict) -> dict[str, str]:
    lo, hi = values.get("pi_min"), values.get("pi_max")
    inst = values.get("instrument", "HE")
    if lo is None or hi is None:
        return {}
    problem = scr.check_pi_range(inst, lo, hi)
    return {"pi_min": problem} if problem else {}


class LoadL1(Algorithm):
    """Read one exposure's Level-1 files (events, EHK, orbit) and its observation keywords."""

    name = "hxmt.load_l1"
    category = "hxmt/input"
    outputs = (
        Port("events", "table", help="Level-1 events (TIME, DET_ID, CHANNEL, flags)"),
        Port("ehk", "table", help="EHK housekeeping at 1 s"),
        Port("orbit", "table", help="orbit: TIME, LON, LAT, ALT (deg, deg, km), X, Y, Z (km, J2000)"),
        Port("meta", "object", help="observation keywords (OBJECT, RA_OBJ, OBS_ID, ...)"),
    )
    params = (FilePath("l1_dir", None, help="Level-1 exposure folder (holding HE/ ME/ LE/ ACS/ AUX/)"), _INST)

    def compute(self):
        obs = l1io.find_exposure(self.values["l1_dir"], self.values["instrument"])
        inst = obs.instrument
        ev = l1io.read_table(obs.files[f"{inst}-Evt"], f"{inst}-Evt")
        meta = l1io.Keywords(obs.meta, files={k: str(v) for k, v in obs.files.items()}, instrument=inst)
        return {
            "events": ev,
            "ehk": l1io.read_table(obs.files["EHK"], "EHK"),
            "orbit": l1io.read_table(obs.files["Orbit"], "Orbit"),
            "meta": meta,
        }


class PiCal(Algorithm):
    """Convert raw ADC channels to PI with the per-detector gains of the CALDB (hepical/mepical/lepical)."""

    name = "hxmt.pical"
    category = "hxmt/calibrate"
    inputs = (Port("events", "table", help="Level-1 events with CHANNEL and DET_ID"),)
    outputs = (Port("events", "table", help="events with a PI column"),)
    params = (_INST, Int("seed", 0, min=0, help="seed of the channel randomisation"))

    def compute(self, events):
        return {"events": calibrate.pical(events, self.values["instrument"], self.values["seed"])}


class Grade(Algorithm):
    """ME event grading (megrade): grade 0 single-pixel events, 1 split events across neighbouring pixels."""

    name = "hxmt.grade"
    category = "hxmt/calibrate"
    inputs = (Port("events", "table", help="ME events sorted by time"),)
    outputs = (Port("events", "table", help="events with a GRADE column"),)

    def compute(self, events):
        return {"events": calibrate.me_grade(events)}


class Recon(Algorithm):
    """LE split-event reconstruction (lerecon): merge the two records of a split X-ray, summing energies."""

    name = "hxmt.recon"
    category = "hxmt/calibrate"
    inputs = (Port("events", "table", help="LE events with PI"),)
    outputs = (Port("events", "table", help="reconstructed events with GRADE (0 single, 1 double)"),)

    def compute(self, events):
        return {"events": calibrate.le_recon(events)}


class GtiGen(Algorithm):
    """Good time intervals from the EHK file and a selection expression (hegtigen/megtigen/legtigen)."""

    name = "hxmt.gtigen"
    category = "hxmt/screen"
    inputs = (Port("ehk", "table", help="EHK table"),)
    outputs = (Port("gti", "array", ndim=2, help="GTIs (n, 2): START, STOP in mission seconds"),)
    params = (
        _INST,
        Text(
            "expr",
            None,
            optional=True,
            validator=gtimod.check_expression,
            help="selection on EHK columns with && || ! and comparisons (default: the instrument's)",
        ),
        Float("min_length", 1.0, min=0, unit="s", help="drop GTIs shorter than this"),
    )

    def compute(self, ehk):
        expr = self.values["expr"] or DEFAULT_GTI_EXPR[spec(self.values["instrument"]).name]
        mask = gtimod.evaluate(expr, l1io.ehk_columns(ehk))
        gti = gtimod.mask_to_gti(ehk["TIME"], mask, min_length=self.values["min_length"])
        if gti.size == 0:
            raise scr.NoGoodTimeError(
                f"no good time: the expression {expr!r} is false over the whole EHK "
                f"({ehk['TIME'][0]:.0f}-{ehk['TIME'][-1]:.0f} s)"
            )
        return {"gti": gti}


class Screen(Algorithm):
    """Screen events (hescreen/mescreen/lescreen): GTI, detectors, PI range and event flags."""

    name = "hxmt.screen"
    category = "hxmt/screen"
    inputs = (
        Port("events", "table", help="calibrated events"),
        Port("gti", "array", ndim=2, help="GTIs (n, 2), s"),
    )
    outputs = (
        Port("events", "table", help="screened events of the selected detectors"),
        Port("blind", "table", help="screened events of the blind detectors (background)"),
        Port(
            "raw",
            "array",
            help="times (s) of all recorded events of the selected detectors in the GTI (dead time)",
        ),
        Port("raw_blind", "array", help="same for the blind detectors"),
    )
    params = (
        _INST,
        Int("pi_min", None, min=0, optional=True, unit="chan", help="lowest PI (default: the band's)"),
        Int(
            "pi_max",
            None,
            min=0,
            optional=True,
            unit="chan",
            help="highest PI, inclusive (default: the band's)",
        ),
        _DETS,
    )

    @classmethod
    def check_params(cls, values):
        return _pi_check(values)

    def compute(self, events, gti):
        v = self.values
        s = spec(v["instrument"])
        pr = (
            s.band[0] if v["pi_min"] is None else v["pi_min"],
            s.band[1] if v["pi_max"] is None else v["pi_max"],
        )
        ev = scr.screen(events, gti, s.name, pr, v["detectors"])
        if ev.size == 0:
            raise scr.NoGoodTimeError(
                f"{s.name}: no events left after screening (GTI {gtimod.total(gti):.0f} s, PI {pr[0]}:{pr[1]})"
            )
        return {
            "events": ev,
            "blind": scr.screen(events, gti, s.name, pr, blind=True),
            "raw": scr.raw_in_gti(events, gti, s.name, v["detectors"]),
            "raw_blind": scr.raw_in_gti(events, gti, s.name, blind=True),
        }


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
    params = (_INST, Float("binsize", 1.0, min=1e-5, unit="s", help="light-curve bin size"), _DETS)

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
    params = (_INST, _DETS)

    def compute(self, events, raw, gti):
        v = self.values
        n = products.used_detectors(v["instrument"], v["detectors"])
        return {"spectrum": products.make_spectrum(events["PI"], raw, gti, v["instrument"], n)}


class RspGen(Algorithm):
    """Response matrix (RMF with the effective area folded in) from the CALDB (herspgen/merspgen/lerspgen)."""

    name = "hxmt.rspgen"
    category = "hxmt/products"
    outputs = (Port("response", "object", help="Response"),)
    params = (_INST, _DETS)

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
    params = (_INST, Float("binsize", 1.0, min=1e-5, unit="s", help="light-curve bin size"), _DETS)

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
        _INST,
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
        return {"files": [str(p) for p in written.values()]}


ALGORITHMS = [
    LoadL1,
    PiCal,
    Grade,
    Recon,
    GtiGen,
    Screen,
    LcGen,
    SpecGen,
    RspGen,
    BkgMap,
    BaryCorr,
    Fold,
    Z2Search,
    PowSpec,
    WriteProducts,
]
