"""The calibration database shipped with the package (a CALDB-like layout).

Layout (under ``daisy_widgets/hxmt/caldb/``)::

    caldb.indx.json                          index: instrument, CNAME -> file
    hxmt/<inst>/bcf/hxmt_<inst>_detectors_v1.fits  DETECTORS: DET_ID, BLIND, INUSE, GAIN_C0, GAIN_C1; TAU (s)
    hxmt/<inst>/bcf/hxmt_<inst>_resol_v1.fits      RESOLUTION: ENERGY (keV), FWHM (keV), ESCFRAC, TAILFRAC;
                                                   ESCENER (keV)
    hxmt/<inst>/cpf/hxmt_<inst>_arf_v1.fits        SPECRESP: ENERG_LO, ENERG_HI (keV), SPECRESP (cm2)
    hxmt/<inst>/bcf/hxmt_<inst>_bkg_v1.fits        BACKGROUND: lines ENERGY (keV), RATE (count/s/det);
                                                   BKGSPEC: ENERGY (keV), RATE (count/s/keV/det)

The same files drive the simulator and the pipeline (``pical``, ``rspgen``, ``lcgen``).
``PI = GAIN_C0 + GAIN_C1 * (Channel + u)``, u uniform in [0, 1). ``SPECRESP`` is the
on-axis area of all open (non-blind) detectors together. Of the photons it counts, a fraction
``ESCFRAC`` lands ``ESCENER`` keV lower (K-escape), ``TAILFRAC`` anywhere between 0 and E (partial
absorption), the rest in the photopeak with the Gaussian resolution ``FWHM``.

The numbers, and where each comes from, are in :mod:`.caldb_model`.

:func:`build_caldb` regenerates the files (run once by the developers; the files are committed).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_path
from ..core.errors import InputFileError
from . import caldb_model as model
from .mission import INSTRUMENTS, spec

CALDB_ROOT = Path(__file__).with_name("caldb")
VERSION = 1


def build_caldb(root: Path | None = None, seed: int = 2017) -> list[Path]:
    """Write every calibration file (atomically) and the index; return the paths written."""
    from astropy.io import fits

    root = Path(root or CALDB_ROOT)
    rng = np.random.default_rng(seed)
    written: list[Path] = []
    index: dict[str, dict[str, str]] = {}

    def write(path: Path, hdus: list) -> None:
        with atomic_path(path) as tmp:
            fits.HDUList([fits.PrimaryHDU(), *hdus]).writeto(tmp, overwrite=True)
        written.append(path)

    for inst in INSTRUMENTS:
        s = spec(inst)
        low = inst.lower()
        base = root / "hxmt" / low
        entry = index.setdefault(inst, {})
        # detectors and gains
        det = np.arange(s.n_det, dtype=np.int16)
        blind = np.isin(det, model.BLIND[inst])
        nominal = s.n_pi / s.n_channel
        c1 = nominal * (1 + rng.normal(0, 0.02, s.n_det))
        c0 = rng.normal(0, 1.0, s.n_det)
        h = fits.BinTableHDU.from_columns(
            [
                fits.Column("DET_ID", "I", array=det),
                fits.Column("BLIND", "L", array=blind),
                fits.Column("INUSE", "L", array=~np.isin(det, model.NOT_IN_USE[inst])),
                fits.Column("GAIN_C0", "D", array=c0, unit="chan"),
                fits.Column("GAIN_C1", "D", array=c1, unit="chan/chan"),
            ],
            name="DETECTORS",
        )
        h.header.update(
            {
                "TELESCOP": "HXMT",
                "INSTRUME": inst,
                "CCLS0001": "BCF",
                "CCNM0001": "DETECTORS",
                "TAU": (model.TAU[inst], "[s] dead time per event per detector"),
                "E0": (s.e0, "[keV] E = E0 + SLOPE * PI"),
                "SLOPE": (s.slope, "[keV/chan]"),
                "NPI": s.n_pi,
                "NCHAN": s.n_channel,
            }
        )
        p = base / "bcf" / f"hxmt_{low}_detectors_v{VERSION}.fits"
        write(p, [h])
        entry["DETECTORS"] = str(p.relative_to(root))
        # effective area
        elo_edge, ehi_edge = s.energy(0) * 0.7, s.energy(s.n_pi) * 1.1
        edges = np.geomspace(max(elo_edge, 0.05), ehi_edge, 801)
        mid = 0.5 * (edges[1:] + edges[:-1])
        h = fits.BinTableHDU.from_columns(
            [
                fits.Column("ENERG_LO", "E", array=edges[:-1], unit="keV"),
                fits.Column("ENERG_HI", "E", array=edges[1:], unit="keV"),
                fits.Column("SPECRESP", "E", array=model.area_model(inst, mid), unit="cm**2"),
            ],
            name="SPECRESP",
        )
        h.header.update(
            {
                "TELESCOP": "HXMT",
                "INSTRUME": inst,
                "HDUCLASS": "OGIP",
                "HDUCLAS1": "RESPONSE",
                "HDUCLAS2": "SPECRESP",
                "CCNM0001": "SPECRESP",
            }
        )
        p = base / "cpf" / f"hxmt_{low}_arf_v{VERSION}.fits"
        write(p, [h])
        entry["SPECRESP"] = str(p.relative_to(root))
        # resolution
        e = np.geomspace(edges[0], edges[-1], 200)
        h = fits.BinTableHDU.from_columns(
            [
                fits.Column("ENERGY", "E", array=e, unit="keV"),
                fits.Column("FWHM", "E", array=model.fwhm_model(inst, e), unit="keV"),
                fits.Column("ESCFRAC", "E", array=model.escape_fraction(inst, e)),
                fits.Column("TAILFRAC", "E", array=model.tail_fraction(inst, e)),
            ],
            name="RESOLUTION",
        )
        h.header.update(
            {
                "TELESCOP": "HXMT",
                "INSTRUME": inst,
                "CCNM0001": "RESOLUTION",
                "ESCENER": (model.HE_ESCAPE[1] if inst == "HE" else 0.0, "[keV] escape peak below photopeak"),
            }
        )
        p = base / "bcf" / f"hxmt_{low}_resol_v{VERSION}.fits"
        write(p, [h])
        entry["RESOLUTION"] = str(p.relative_to(root))
        # particle background
        b = model.BACKGROUND[inst]
        h = fits.BinTableHDU.from_columns(
            [
                fits.Column("ENERGY", "E", array=[ln[0] for ln in b["lines"]], unit="keV"),
                fits.Column("RATE", "E", array=[ln[1] for ln in b["lines"]], unit="count/s"),
            ],
            name="BACKGROUND",
        )
        h.header.update(
            {
                "TELESCOP": "HXMT",
                "INSTRUME": inst,
                "CCNM0001": "BACKGROUND",
                "JUNKRATE": (b["junk"], "[cts/s/det] events cut by flags/PW/ACD"),
            }
        )
        eb = np.geomspace(s.energy(0), s.energy(s.n_pi), 120)
        hs = fits.BinTableHDU.from_columns(
            [
                fits.Column("ENERGY", "E", array=eb, unit="keV"),
                fits.Column("RATE", "E", array=model.background_density(inst, eb), unit="count/s/keV"),
            ],
            name="BKGSPEC",
        )
        hs.header.update({"TELESCOP": "HXMT", "INSTRUME": inst, "CCNM0001": "BKGSPEC"})
        p = base / "bcf" / f"hxmt_{low}_bkg_v{VERSION}.fits"
        write(p, [h, hs])
        entry["BACKGROUND"] = str(p.relative_to(root))
    ip = root / "caldb.indx.json"
    with atomic_path(ip) as tmp:
        tmp.write_text(json.dumps({"telescope": "HXMT", "version": VERSION, "files": index}, indent=1) + "\n")
    written.append(ip)
    return written


@dataclass(frozen=True)
class Calibration:
    """One instrument's calibration, read from the CALDB files.

    Attributes
    ----------
    instrument
        ``"HE"``, ``"ME"`` or ``"LE"``.
    det_id, blind, gain_c0, gain_c1
        Per-detector arrays, shape (n_det,).
    in_use
        Per detector: recording events (False: switched off or left out, e.g. LE's large-field CCDs).
    tau
        Dead time per recorded event and detector (s).
    arf_lo, arf_hi, area
        Effective area of all open detectors on the energy grid (keV, keV, cm2), shape (n_e,).
    res_energy, res_fwhm, res_escape, res_tail
        Energy resolution table (keV), escape and partial-absorption fractions.
    escape_energy
        Energy carried away by an escape (keV; 0 when none).
    bkg_energy, bkg_density
        Particle continuum per detector (keV, count/s/keV), mean orbit conditions.
    bkg_junk
        Screened-out event rate (count/s/detector).
    line_energy, line_rate
        Background lines (keV, count/s/detector).
    files
        The files read, by CNAME.
    """

    instrument: str
    det_id: np.ndarray
    blind: np.ndarray
    gain_c0: np.ndarray
    gain_c1: np.ndarray
    tau: float
    arf_lo: np.ndarray
    arf_hi: np.ndarray
    area: np.ndarray
    res_energy: np.ndarray
    res_fwhm: np.ndarray
    res_escape: np.ndarray
    res_tail: np.ndarray
    escape_energy: float
    bkg_energy: np.ndarray
    bkg_density: np.ndarray
    bkg_junk: float
    line_energy: np.ndarray
    line_rate: np.ndarray
    files: dict
    in_use: np.ndarray | None = None

    @property
    def open_detectors(self) -> np.ndarray:
        """Detectors that see the sky and are in use (the pipeline's default selection)."""
        use = np.ones(self.det_id.size, bool) if self.in_use is None else self.in_use
        return self.det_id[~self.blind & use]

    @property
    def recording_detectors(self) -> np.ndarray:
        """Detectors that record events: the open ones and the blind ones."""
        use = np.ones(self.det_id.size, bool) if self.in_use is None else self.in_use
        return self.det_id[use | self.blind]

    @property
    def blind_detectors(self) -> np.ndarray:
        return self.det_id[self.blind]

    def sigma(self, energy: np.ndarray) -> np.ndarray:
        """Gaussian sigma of the energy resolution (keV) at ``energy`` (keV)."""
        return np.interp(energy, self.res_energy, self.res_fwhm) / 2.3548

    def escape_at(self, energy: np.ndarray) -> np.ndarray:
        """Fraction of the counted photons at ``energy`` (keV) landing ``escape_energy`` lower."""
        return np.interp(energy, self.res_energy, self.res_escape)

    def tail_at(self, energy: np.ndarray) -> np.ndarray:
        """Fraction of the counted photons at ``energy`` (keV) landing uniformly in 0..energy."""
        return np.interp(energy, self.res_energy, self.res_tail)

    def background_at(self, energy: np.ndarray) -> np.ndarray:
        """Particle continuum (count/s/keV per detector) at ``energy`` (keV), log-log interpolated."""
        le, lr = np.log(self.bkg_energy), np.log(np.maximum(self.bkg_density, 1e-30))
        return np.exp(np.interp(np.log(np.asarray(energy, float)), le, lr))

    def area_at(self, energy: np.ndarray) -> np.ndarray:
        """Effective area (cm2) of all open detectors at ``energy`` (keV)."""
        mid = 0.5 * (self.arf_lo + self.arf_hi)
        return np.interp(energy, mid, self.area, left=0.0, right=0.0)


def _read_table(path: Path, ext: str, columns: list[str]):
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hl:
            if ext not in hl:
                raise InputFileError(path, ext, f"a {ext} extension")
            hdu = hl[ext]
            names = [c.upper() for c in hdu.columns.names]
            for c in columns:
                if c not in names:
                    raise InputFileError(
                        path, f"{ext}.{c}", f"column {c}", "columns " + ", ".join(hdu.columns.names)
                    )
            return {c: np.array(hdu.data[c]) for c in columns}, dict(hdu.header)
    except OSError as exc:
        raise InputFileError(path, "", "a readable calibration FITS file", str(exc)) from None


@functools.cache
def load_calibration(instrument: str, root: str | None = None) -> Calibration:
    """Read one instrument's calibration files (cached).

    Raises
    ------
    InputFileError
        A missing or malformed calibration file, naming it and the field.
    """
    inst = spec(instrument).name
    base = Path(root) if root else CALDB_ROOT
    ip = base / "caldb.indx.json"
    try:
        index = json.loads(ip.read_text())["files"][inst]
    except (OSError, KeyError, ValueError) as exc:
        raise InputFileError(ip, inst, "a CALDB index listing the instrument's files", str(exc)) from None
    det, hd = _read_table(
        base / index["DETECTORS"], "DETECTORS", ["DET_ID", "BLIND", "INUSE", "GAIN_C0", "GAIN_C1"]
    )
    arf, _ = _read_table(base / index["SPECRESP"], "SPECRESP", ["ENERG_LO", "ENERG_HI", "SPECRESP"])
    res, hr = _read_table(base / index["RESOLUTION"], "RESOLUTION", ["ENERGY", "FWHM", "ESCFRAC", "TAILFRAC"])
    bkg, hb = _read_table(base / index["BACKGROUND"], "BACKGROUND", ["ENERGY", "RATE"])
    bsp, _ = _read_table(base / index["BACKGROUND"], "BKGSPEC", ["ENERGY", "RATE"])
    return Calibration(
        instrument=inst,
        det_id=det["DET_ID"].astype(np.int32),
        blind=det["BLIND"].astype(bool),
        gain_c0=det["GAIN_C0"].astype(float),
        gain_c1=det["GAIN_C1"].astype(float),
        tau=float(hd["TAU"]),
        arf_lo=arf["ENERG_LO"].astype(float),
        arf_hi=arf["ENERG_HI"].astype(float),
        area=arf["SPECRESP"].astype(float),
        res_energy=res["ENERGY"].astype(float),
        res_fwhm=res["FWHM"].astype(float),
        res_escape=res["ESCFRAC"].astype(float),
        res_tail=res["TAILFRAC"].astype(float),
        escape_energy=float(hr.get("ESCENER", 0.0)),
        bkg_energy=bsp["ENERGY"].astype(float),
        bkg_density=bsp["RATE"].astype(float),
        bkg_junk=float(hb["JUNKRATE"]),
        line_energy=bkg["ENERGY"].astype(float),
        line_rate=bkg["RATE"].astype(float),
        files={k: str(base / v) for k, v in index.items()},
        in_use=det["INUSE"].astype(bool),
    )
