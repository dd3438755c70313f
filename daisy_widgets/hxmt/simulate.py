"""Simulator of Insight-HXMT Level-1 observations.

Writes, for one exposure, the mission's folders and file names::

    <OUT>/<ObsID>/<ExpID>-<YYYYMMDD>-01-01/
        HE/HXMT_<ExpID>_HE-Evt_FFFFFF_V1_L1P.FITS   Time, Det_ID, Channel, Pulse_Width, ACD, Event_Type, Flag
        ME/HXMT_<ExpID>_ME-Evt_FFFFFF_V1_L1P.FITS   Time, Det_ID, Channel, Event_Type, Flag
        LE/HXMT_<ExpID>_LE-Evt_FFFFFF_V1_L1P.FITS   Time, Det_ID, Channel, Event_Type, Flag
        ACS/HXMT_<ExpID>_Orbit_FFFFFF_V1_L1P.FITS   Time, Lon, Lat, Alt, X, Y, Z
        ACS/HXMT_<ExpID>_Att_FFFFFF_V1_L1P.FITS     Time, Ra, Dec, Roll
        AUX/HXMT_<ExpID>_EHK_FFFFFF_V1_L1P.FITS     TIME, ELV, DYE_ELV, COR, SAA_FLAG, T_SAA, TN_SAA, ANG_DIST, SUN_ANG, MOON_ANG

Physics: the orbit of :mod:`.orbit` (the source is blocked while occulted by the
Earth; detectors are off in the SAA); an absorbed power-law source
``exp(-nh sigma(E)) norm * E**-index`` photons/cm2/s/keV (by default the Crab: index 2.1, norm 9.7,
N_H 0.35e22; pulsed with a Crab-like two-peak profile, peaks 0.4 apart in phase, following the
published Jodrell Bank ephemeris in barycentric time) folded through the CALDB effective area and
redistribution (:mod:`.response`); a particle background (continuum shape and lines of the CALDB)
in every detector including the blind ones, modulated by the cut-off rigidity and by activation
after SAA passages (:func:`.caldb_model.orbit_modulation`); the figures and their sources are in
:mod:`.caldb_model`; events that the screening must remove (HE CsI
pulse widths and ACD vetoes, flagged events); ME split events (grade) and LE
split events (recon); non-paralysable dead time per detector; and per-detector
gains (Channel = (PI - GAIN_C0) / GAIN_C1).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .caldb import Calibration, load_calibration
from .caldb_model import CRAB_INDEX, CRAB_NH, CRAB_NORM, orbit_modulation
from .l1_write import write_fits_table
from .mission import (
    INSTRUMENTS,
    L1_FOLDER,
    l1_name,
    mission_time_to_mjd,
    mjd_to_mission_time,
    spec,
    time_keywords,
)
from .orbit import ehk_table
from .pulsar_sim import crab_profile_phases, pulsar_rotation, pulsed_probability
from .timing import barycentric_delay

CRAB_RA, CRAB_DEC = 83.63308, 22.01450
ME_SPLIT = 0.05
#: 2018-03-01T00:14:24 TT
DEFAULT_START = float(mjd_to_mission_time(58178.01))


@dataclass
class SimulationConfig:
    """Parameters of one simulated exposure.

    Attributes
    ----------
    instruments
        Telescopes to simulate.
    exposure
        Length of the exposure (s, wall-clock; the GTI is shorter).
    start
        Mission time of the start (s).
    ra, dec, target
        Source position (deg) and name.
    photon_index, norm, nh
        Power law ``norm * E**-photon_index`` photons/cm2/s/keV (norm at 1 keV), absorbed by a column
        ``nh`` (1e22 H atoms/cm2; Morrison & McCammon 1983 cross-sections). Defaults: the Crab.
    pulsar_frequency, pulsed_fraction
        Barycentric spin frequency (Hz) of a constant-frequency pulsar with phase 0 at ``start``, and
        the fraction of source photons pulsed (None: the Crab's, rising with energy, see
        :func:`~daisy_widgets.hxmt.pulsar_sim.crab_pulsed_fraction`).
    pulsar_ephemeris
        When ``pulsar_frequency`` is None: the pulsar's rotation, an
        :class:`~daisy_widgets.hxmt.ephemeris.Ephemeris`, a ``.par`` file, ``"crab"`` (default: the
        Crab's rotation at the exposure's epoch from the Jodrell Bank monthly ephemeris, see
        :func:`~daisy_widgets.hxmt.ephemeris.crab_ephemeris`) or None (no pulsar).
    obs_id, exp_id
        ``P`` + 10 digits and the observation ID + 2 digits.
    seed
        Random seed.
    background_scale
        Multiplier of the particle background.
    """

    instruments: tuple[str, ...] = INSTRUMENTS
    exposure: float = 2000.0
    start: float = DEFAULT_START
    ra: float = CRAB_RA
    dec: float = CRAB_DEC
    target: str = "Crab"
    photon_index: float = CRAB_INDEX
    norm: float = CRAB_NORM
    nh: float = CRAB_NH
    pulsar_frequency: float | None = None
    pulsar_ephemeris: object = "crab"
    pulsed_fraction: float | None = None
    obs_id: str = "P0101299001"
    exp_id: str | None = None
    seed: int = 0
    background_scale: float = 1.0
    version: int = 1
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.instruments = tuple(spec(i).name for i in self.instruments)
        if self.exp_id is None:
            self.exp_id = self.obs_id + "01"
        if self.exposure <= 0:
            raise ValueError(f"exposure must be > 0 s; got {self.exposure}")
        if self.nh < 0:
            raise ValueError(f"nh must be >= 0 (1e22 cm-2); got {self.nh}")


def _sample_powerlaw(rng: np.random.Generator, n: int, index: float, lo: float, hi: float) -> np.ndarray:
    u = rng.random(n)
    if abs(index - 1.0) < 1e-9:
        return lo * (hi / lo) ** u
    a = 1.0 - index
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def _sample_times(rng: np.random.Generator, t_grid: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
    """``n`` times with density proportional to ``weight`` per 1 s grid cell starting at ``t_grid``."""
    cdf = np.cumsum(weight)
    if n == 0 or cdf[-1] <= 0:
        return np.empty(0)
    cell = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    cell = np.minimum(cell, len(t_grid) - 1)
    return t_grid[cell] + rng.random(n)


def _dead_time_filter(time: np.ndarray, det: np.ndarray, tau: float) -> np.ndarray:
    """Keep-mask of a non-paralysable dead time ``tau`` per detector (events sorted by time)."""
    from numba import njit

    global _dt_kernel
    if _dt_kernel is None:

        @njit(cache=False)
        def kern(t, d, tau, ndet):
            last = np.full(ndet, -1e30)
            keep = np.zeros(t.size, np.bool_)
            for i in range(t.size):
                k = d[i]
                if t[i] - last[k] >= tau:
                    keep[i] = True
                    last[k] = t[i]
            return keep

        _dt_kernel = kern
    return _dt_kernel(time, det.astype(np.int64), tau, int(det.max()) + 1 if det.size else 1)


_dt_kernel = None


def read_out_channel(cal: Calibration, energy: np.ndarray, det: np.ndarray, rng: np.random.Generator):
    """Raw ``Channel`` (int16) of recorded energies (keV) on detectors ``det``: the inverse of ``pical``'s
    gain, with a random fraction of a channel (the ADC's rounding)."""
    s = spec(cal.instrument)
    ch = np.floor(
        (s.pi_of_energy(energy) - cal.gain_c0[det]) / cal.gain_c1[det] + rng.random(energy.size) - 0.5
    )
    return np.clip(ch, 0, s.n_channel - 1).astype(np.int16)


def simulate_instrument(
    cfg: SimulationConfig,
    inst: str,
    ehk: dict[str, np.ndarray],
    rng: np.random.Generator,
    cal: Calibration | None = None,
) -> dict[str, np.ndarray]:
    """Level-1 event columns of one instrument (sorted by time)."""
    s = spec(inst)
    cal = cal or load_calibration(inst)
    t_grid = ehk["TIME"][:-1]
    on = ehk["SAA_FLAG"][:-1] == 0  # detectors off in the SAA
    visible = on & (ehk["ELV"][:-1] > 0)  # source above the Earth limb
    open_det = cal.open_detectors
    rec_det = cal.recording_detectors  # open and blind: the particle background hits them all
    n_det = rec_det.size
    e_lo, e_hi = float(cal.arf_lo[0]), float(cal.arf_hi[-1])

    # -- source photons: power law x effective area, in visible seconds
    from .fit_models import absorption_cross_section
    from .response import measured_energy

    eg = np.geomspace(e_lo, e_hi, 4000)
    absorbed = np.exp(-cfg.nh * absorption_cross_section(eg)) if cfg.nh > 0 else 1.0
    dens = cfg.norm * eg**-cfg.photon_index * absorbed * cal.area_at(eg)  # counts/s/keV
    cdf = np.concatenate([[0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(eg))])
    rate = cdf[-1]
    # ME: the CALDB area is that of grade-0 (single-pixel) events; split events come on top
    n_src = rng.poisson(rate / (1 - ME_SPLIT if inst == "ME" else 1.0) * visible.sum())
    t_src = _sample_times(rng, t_grid, visible.astype(float), n_src)
    e_src = np.interp(rng.random(n_src) * rate, cdf, eg)
    rotation = pulsar_rotation(cfg)
    if rotation is not None and n_src:
        pulsed = rng.random(n_src) < pulsed_probability(cfg.pulsed_fraction, e_src)
        tp = t_src[pulsed]
        delay = barycentric_delay(
            tp, cfg.ra, cfg.dec, ehk["TIME"], np.stack([ehk["X"], ehk["Y"], ehk["Z"]], -1)
        )
        tb = tp + delay
        target = np.floor(rotation.phase(tb)) + crab_profile_phases(rng, tp.size)
        for _ in range(3):  # Newton steps on phase(tb) = target (the frequency changes slowly)
            tb = tb + (target - rotation.phase(tb)) / rotation.frequency(tb)
        t_src[pulsed] = tb - delay
    e_src = measured_energy(cal, e_src, rng)
    d_src = rng.choice(open_det, n_src)

    # -- particle background in every detector (blind ones included)
    mod = on * orbit_modulation(ehk["COR"][:-1], ehk["T_SAA"][:-1]) * cfg.background_scale
    e_full = (s.energy(0), s.energy(s.n_pi))
    eb = np.geomspace(*e_full, 2000)
    bd = cal.background_at(eb)
    bcdf = np.concatenate([[0], np.cumsum(0.5 * (bd[1:] + bd[:-1]) * np.diff(eb))])
    n_b = rng.poisson(bcdf[-1] * n_det * mod.sum())
    e_b = [np.interp(rng.random(n_b) * bcdf[-1], bcdf, eb)]
    for le, lr in zip(cal.line_energy, cal.line_rate, strict=False):
        k = rng.poisson(lr * n_det * mod.sum())
        e_b.append(le + rng.normal(0, 1, k) * cal.sigma(np.full(k, le)))
    e_bkg = np.concatenate(e_b)
    t_bkg = _sample_times(rng, t_grid, mod, e_bkg.size)
    d_bkg = rng.choice(rec_det, e_bkg.size)
    # -- events the screening must remove
    n_j = rng.poisson(cal.bkg_junk * n_det * mod.sum())
    t_j = _sample_times(rng, t_grid, mod, n_j)
    e_j = _sample_powerlaw(rng, n_j, 1.0, *e_full)
    d_j = rng.choice(rec_det, n_j)

    t = np.concatenate([t_src, t_bkg, t_j])
    e = np.concatenate([e_src, e_bkg, e_j])
    d = np.concatenate([d_src, d_bkg, d_j]).astype(np.int32)
    junk = np.concatenate([np.zeros(n_src + e_bkg.size, bool), np.ones(n_j, bool)])
    order = np.argsort(t, kind="stable")
    t, e, d, junk = t[order], e[order], d[order], junk[order]
    keep = _dead_time_filter(t, d, cal.tau)
    t, e, d, junk = t[keep], e[keep], d[keep], junk[keep]

    def channel(energy, det):
        return read_out_channel(cal, energy, det, rng)

    n = t.size
    cols: dict[str, np.ndarray] = {"Time": t, "Det_ID": d}
    if inst == "HE":
        pw = rng.integers(s.pulse_width[0], s.pulse_width[1] + 1, n)
        acd = np.zeros(n, np.int32)
        kind = rng.random(n)
        pw = np.where(junk & (kind < 0.6), rng.integers(75, 120, n), pw)  # CsI events
        acd = np.where(junk & (kind >= 0.6), rng.integers(1, 1 << 17, n), acd)  # ACD vetoed
        cols.update(
            Channel=channel(e, d),
            Pulse_Width=pw.astype(np.uint8),
            ACD=acd.astype(np.int32),
            Event_Type=np.zeros(n, np.uint8),
            Flag=np.zeros(n, np.uint8),
        )
    else:
        flag = junk.astype(np.uint8)
        if inst == "ME":
            # split events: the charge shared with a neighbouring pixel; both recorded at the same time
            split = (~junk) & (rng.random(n) < ME_SPLIT)
            frac = rng.uniform(0.2, 0.8, split.sum())
            nb = np.where(d[split] % 2 == 0, d[split] + 1, d[split] - 1)
            t = np.concatenate([t, t[split]])
            e2 = np.concatenate([e, e[split] * (1 - frac)])
            e2[np.flatnonzero(split)] = e[split] * frac
            d = np.concatenate([d, nb])
            flag = np.concatenate([flag, np.zeros(nb.size, np.uint8)])
            e = e2
        else:
            # LE split events: one X-ray read out as two records (same CCD, same time); recon adds them up
            split = (~junk) & (rng.random(n) < 0.2)
            frac = rng.uniform(0.1, 0.9, split.sum())
            idx = np.flatnonzero(split)
            t = np.concatenate([t, t[idx]])
            e2 = np.concatenate([e, e[idx] * (1 - frac)])
            e2[idx] = e[idx] * frac
            d = np.concatenate([d, d[idx]])
            flag = np.concatenate([flag, np.zeros(idx.size, np.uint8)])
            e = e2
        order = np.argsort(t, kind="stable")
        t, e, d, flag = t[order], e[order], d[order], flag[order]
        cols = {
            "Time": t,
            "Det_ID": d.astype(np.int16),
            "Channel": channel(e, d),
            "Event_Type": np.zeros(t.size, np.uint8),
            "Flag": flag,
        }
    if inst == "HE":
        cols["Det_ID"] = cols["Det_ID"].astype(np.uint8)
    return cols


def _date(t: float) -> str:
    from astropy.time import Time

    return Time(mission_time_to_mjd(t), format="mjd", scale="tt").utc.isot[:19]


def _meta(cfg: SimulationConfig, inst: str) -> dict[str, object]:
    t0, t1 = cfg.start, cfg.start + cfg.exposure
    return {
        "TELESCOP": "HXMT",
        "INSTRUME": inst,
        "OBJECT": cfg.target,
        "RA_OBJ": cfg.ra,
        "DEC_OBJ": cfg.dec,
        "EQUINOX": 2000.0,
        "RADECSYS": "FK5",
        "OBS_ID": cfg.obs_id,
        "EXP_ID": cfg.exp_id,
        "DATE-OBS": _date(t0),
        "DATE-END": _date(t1),
        "TSTART": t0,
        "TSTOP": t1,
        "EXPOSURE": (cfg.exposure, "[s] length of the exposure"),
        "INSTLIST": ",".join(cfg.instruments),
        "DATA_VER": f"V{cfg.version}",
        "ORIGIN": "Daisy simulator",
        "CREATOR": "daisy hxmt simulate",
        **time_keywords(),
    }


def exposure_dir(out: Path, cfg: SimulationConfig) -> Path:
    """``<out>/<ObsID>/<ExpID>-<YYYYMMDD>-01-01`` of a configuration."""
    day = _dt.datetime.fromisoformat(_date(cfg.start)).strftime("%Y%m%d")
    return Path(out) / cfg.obs_id / f"{cfg.exp_id}-{day}-01-01"


def simulate_observation(out: str | Path, cfg: SimulationConfig | None = None, progress=None, **kw) -> Path:
    """Simulate one exposure and write its Level-1 files; return the exposure folder.

    Parameters
    ----------
    out
        Root folder; the files go under ``<out>/<ObsID>/<ExpID>-<date>-01-01/``.
    cfg
        :class:`SimulationConfig` (or give its fields as keywords).
    progress
        Optional ``callback(done, total, message)``.
    """
    cfg = cfg or SimulationConfig(**kw)
    rng = np.random.default_rng(cfg.seed)
    root = exposure_dir(Path(out), cfg)
    steps = 2 + len(cfg.instruments)
    report = progress or (lambda *a: None)
    report(0, steps, "orbit")
    t = cfg.start + np.arange(0.0, np.ceil(cfg.exposure) + 1.0)
    # attitude: a slew to the source during the first 120 s, then jitter of a few arcsec
    ang = np.abs(rng.normal(0, 0.004, t.size))
    slew = (t - cfg.start) < 120
    ang[slew] = 3.0 * (1 - (t[slew] - cfg.start) / 120.0) + 0.05
    ehk = ehk_table(t, cfg.ra, cfg.dec, pointing_offset=ang)
    meta = _meta(cfg, "HXMT")
    write_fits_table(
        root / L1_FOLDER["EHK"] / l1_name(cfg.exp_id, "EHK", cfg.version),
        "EHK",
        {
            k: ehk[k].astype(np.int16 if k == "SAA_FLAG" else np.float64)
            for k in (
                "TIME",
                "ELV",
                "DYE_ELV",
                "COR",
                "SAA_FLAG",
                "T_SAA",
                "TN_SAA",
                "ANG_DIST",
                "SUN_ANG",
                "MOON_ANG",
            )
        },
        meta,
        {
            "TIME": "s",
            "ELV": "deg",
            "DYE_ELV": "deg",
            "COR": "GV",
            "T_SAA": "s",
            "TN_SAA": "s",
            "ANG_DIST": "deg",
            "SUN_ANG": "deg",
            "MOON_ANG": "deg",
        },
    )
    write_fits_table(
        root / L1_FOLDER["Orbit"] / l1_name(cfg.exp_id, "Orbit", cfg.version),
        "Orbit",
        {
            "Time": ehk["TIME"],
            "Lon": ehk["LON"],
            "Lat": ehk["LAT"],
            "Alt": ehk["ALT"],
            "X": ehk["X"],
            "Y": ehk["Y"],
            "Z": ehk["Z"],
        },
        meta,
        {"Time": "s", "Lon": "deg", "Lat": "deg", "Alt": "km", "X": "km", "Y": "km", "Z": "km"},
    )
    # attitude: pointing offset towards +Dec
    write_fits_table(
        root / L1_FOLDER["Att"] / l1_name(cfg.exp_id, "Att", cfg.version),
        "ATT",
        {"Time": ehk["TIME"], "Ra": np.full(t.size, cfg.ra), "Dec": cfg.dec + ang, "Roll": np.zeros(t.size)},
        meta,
        {"Time": "s", "Ra": "deg", "Dec": "deg", "Roll": "deg"},
    )
    report(1, steps, "orbit")
    for k, inst in enumerate(cfg.instruments):
        cols = simulate_instrument(cfg, inst, ehk, rng)
        write_fits_table(
            root / L1_FOLDER[f"{inst}-Evt"] / l1_name(cfg.exp_id, f"{inst}-Evt", cfg.version),
            "Events",
            cols,
            _meta(cfg, inst),
            {"Time": "s", "Channel": "chan"},
        )
        report(2 + k, steps, inst)
    report(steps, steps, "done")
    return root


def first_good_window(
    t_from: float,
    ra: float = CRAB_RA,
    dec: float = CRAB_DEC,
    min_good: float = 300.0,
    search: float = 86400.0,
) -> float:
    """Start (mission s) of the first stretch after ``t_from`` with at least ``min_good`` s of default
    GTI (any instrument), minus 150 s so the exposure opens with a slew and some bad time."""
    from .gti import evaluate, mask_to_gti
    from .mission import DEFAULT_GTI_EXPR

    t = t_from + np.arange(0.0, search, 5.0)
    ehk = ehk_table(t, ra, dec)
    ehk["ANG_DIST"] = np.zeros_like(t)
    gti = mask_to_gti(t, evaluate(DEFAULT_GTI_EXPR["LE"], ehk), dt=5.0)
    long = gti[(gti[:, 1] - gti[:, 0]) >= min_good]
    if long.size == 0:
        raise ValueError(f"no {min_good} s of good time within {search} s after {t_from}")
    return float(long[0, 0] - 150.0)


def write_sample_observations(
    out_dir: str | Path,
    n: int = 2,
    seed: int = 0,
    exposure: float = 800.0,
    instruments: tuple[str, ...] = INSTRUMENTS,
) -> list[Path]:
    """Demo Crab observations for ``daisy data sample``, under ``<out_dir>/data/hxmt/<ObsID>/<ExpID>-<date>-01-01/``.

    Observation ``i`` (0-based) has ObsID ``P01012990{i+1:02d}``, starts on 2018-03-01 + ``i`` days at
    the first window with good time, points at the Crab (RA 83.63308, Dec 22.01450), and
    holds the default Crab (index 2.1, norm 9.7, N_H 0.35e22) with a 29.6 Hz pulsar, 20 % of the source
    photons pulsed at every energy (about the Crab's fraction in HE's band), so that the demo's short
    exposures show the pulse. Returns the exposure folders.
    """
    out = Path(out_dir) / "data" / "hxmt"
    paths = []
    for i in range(n):
        start = first_good_window(DEFAULT_START + i * 86400.0, min_good=min(exposure, 600.0))
        cfg = SimulationConfig(
            instruments=instruments,
            exposure=exposure,
            start=start,
            obs_id=f"P01012990{i + 1:02d}",
            seed=seed + i,
            pulsar_frequency=29.6,
            pulsed_fraction=0.2,
        )
        paths.append(simulate_observation(out, cfg))
    return paths
