"""HXMT reduction steps: Level-1 events to screened events (``hxmt.load_l1``, ``hxmt.pical``,
``hxmt.grade`` ME | ``hxmt.recon`` LE, ``hxmt.gtigen``, ``hxmt.screen``), mirroring HXMTDAS;
``hxmt.pical_screen`` does pical and screen in one pass over blocks of the event file.
"""

from __future__ import annotations

from ..core.algorithm import Algorithm
from ..core.params import Bool, FilePath, Float, Int, Port, Text
from . import calibrate, l1io
from . import gti as gtimod
from . import screen as scr
from .mission import DEFAULT_GTI_EXPR, spec
from .step_params import DETECTORS, INSTRUMENT


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
        Port(
            "events",
            "table",
            optional=True,
            help="Level-1 events (TIME, DET_ID, CHANNEL, flags); absent with events=False",
        ),
        Port("ehk", "table", help="EHK housekeeping at 1 s"),
        Port("orbit", "table", help="orbit: TIME, LON, LAT, ALT (deg, deg, km), X, Y, Z (km, J2000)"),
        Port("meta", "object", help="observation keywords (OBJECT, RA_OBJ, OBS_ID, ...)"),
    )
    params = (
        FilePath("l1_dir", None, help="Level-1 exposure folder (holding HE/ ME/ LE/ ACS/ AUX/)"),
        INSTRUMENT,
        Bool(
            "events",
            True,
            help="read the event table (off: a later step, hxmt.pical_screen, reads the file block by block)",
        ),
    )

    def compute(self):
        obs = l1io.find_exposure(self.values["l1_dir"], self.values["instrument"])
        inst = obs.instrument
        meta = l1io.Keywords(obs.meta, files={k: str(v) for k, v in obs.files.items()}, instrument=inst)
        out = {
            "ehk": l1io.read_table(obs.files["EHK"], "EHK"),
            "orbit": l1io.read_table(obs.files["Orbit"], "Orbit"),
            "meta": meta,
        }
        if self.values["events"]:
            out["events"] = l1io.read_table(obs.files[f"{inst}-Evt"], f"{inst}-Evt")
        return out


class PiCal(Algorithm):
    """Convert raw ADC channels to PI with the per-detector gains of the CALDB (hepical/mepical/lepical)."""

    name = "hxmt.pical"
    category = "hxmt/calibrate"
    inputs = (Port("events", "table", help="Level-1 events with CHANNEL and DET_ID"),)
    outputs = (Port("events", "table", help="events with a PI column"),)
    params = (INSTRUMENT, Int("seed", 0, min=0, help="seed of the channel randomisation"))

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
        INSTRUMENT,
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
        INSTRUMENT,
        Int("pi_min", None, min=0, optional=True, unit="chan", help="lowest PI (default: the band's)"),
        Int(
            "pi_max",
            None,
            min=0,
            optional=True,
            unit="chan",
            help="highest PI, inclusive (default: the band's)",
        ),
        DETECTORS,
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
        out = scr.screen_sets(events, gti, s.name, pr, v["detectors"])
        ev = out["events"]
        if ev.size == 0:
            raise scr.NoGoodTimeError(
                f"{s.name}: no events left after screening (GTI {gtimod.total(gti):.0f} s, PI {pr[0]}:{pr[1]})"
            )
        return out


class PiCalScreen(Algorithm):
    """PI calibration and screening in one pass over blocks of the Level-1 event file: what
    hxmt.pical then hxmt.screen give, without holding the Level-1 or calibrated table (HE)."""

    name = "hxmt.pical_screen"
    category = "hxmt/screen"
    inputs = (
        Port("meta", "object", help="observation keywords of hxmt.load_l1 (they name the event file)"),
        Port("gti", "array", ndim=2, help="GTIs (n, 2), s"),
    )
    outputs = Screen.outputs
    params = (
        INSTRUMENT,
        Int("seed", 0, min=0, help="seed of the channel randomisation"),
        *Screen.params[1:],
    )

    @classmethod
    def check_params(cls, values):
        x = spec(values.get("instrument", "HE")).name
        if x != "HE":
            return {
                "instrument": f"HE only ({x}'s grading pairs neighbouring events, which blocks would "
                "separate): use hxmt.pical, hxmt.grade or hxmt.recon, and hxmt.screen"
            }
        return _pi_check(values)

    def compute(self, meta, gti):
        from .screen_stream import pical_screen_file

        v = self.values
        s = spec(v["instrument"])
        pr = (
            s.band[0] if v["pi_min"] is None else v["pi_min"],
            s.band[1] if v["pi_max"] is None else v["pi_max"],
        )
        out = pical_screen_file(
            meta["files"][f"{s.name}-Evt"],
            gti,
            s.name,
            seed=v["seed"],
            pi_range=pr,
            detectors=v["detectors"],
            progress=self.context.progress,
            check_cancelled=self.context.check_cancelled,
        )
        if out["events"].size == 0:
            raise scr.NoGoodTimeError(
                f"{s.name}: no events left after screening (GTI {gtimod.total(gti):.0f} s, PI {pr[0]}:{pr[1]})"
            )
        return out
