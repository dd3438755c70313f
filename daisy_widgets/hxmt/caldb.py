"""The calibration database shipped with the package (a CALDB-like layout).

Layout (under ``daisy_widgets/hxmt/caldb/``)::

    caldb.indx.json                          index: instrument, CNAME -> file
    hxmt/<inst>/bcf/hxmt_<inst>_detectors_v1.fits  DETECTORS: DET_ID, BLIND, GAIN_C0, GAIN_C1; TAU (s)
    hxmt/<inst>/bcf/hxmt_<inst>_resol_v1.fits      RESOLUTION: ENERGY (keV), FWHM (keV)
    hxmt/<inst>/cpf/hxmt_<inst>_arf_v1.fits        SPECRESP: ENERG_LO, ENERG_HI (keV), SPECRESP (cm2)
    hxmt/<inst>/bcf/hxmt_<inst>_bkg_v1.fits        BACKGROUND: per-detector particle continuum and LINES

The same files drive the simulator and the pipeline (``pical``, ``rspgen``, ``lcgen``).
``PI = GAIN_C0 + GAIN_C1 * (Channel + u)``, u uniform in [0, 1). ``SPECRESP`` is the
on-axis area of all open (non-blind) detectors together.

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
from .mission import INSTRUMENTS, spec

CALDB_ROOT = Path(__file__).with_name("caldb")
VERSION = 1


# -- the instrument model used to build the files -------------------------------------------------
def _area_model(inst: str, e: np.ndarray) -> np.ndarray:
    if inst == "HE":
        return 5100.0 * (1 - np.exp(-((e / 28.0) ** 4))) * np.exp(-((e / 320.0) ** 2))
    if inst == "ME":
        return 900.0 * (1 - np.exp(-((e / 6.0) ** 3))) * np.exp(-((e / 40.0) ** 2))
    return 384.0 * (1 - np.exp(-((e / 1.5) ** 2.5))) * np.exp(-((e / 12.0) ** 3))


def _fwhm_model(inst: str, e: np.ndarray) -> np.ndarray:
    if inst == "HE":
        return 0.15 * 60.0 * np.sqrt(e / 60.0)  # 15 % at 60 keV
    if inst == "ME":
        return np.sqrt(1.0 + 3.0**2 * e / 17.8 - 1.0 * e / 17.8)  # ~3 keV at 17.8 keV
    return np.sqrt(0.05**2 + 0.135**2 * e / 5.9)  # ~140 eV at 5.9 keV


_BLIND = {"HE": [16], "ME": [i for i in range(1728) if i % 72 == 71], "LE": [20, 52, 84]}
_TAU = {"HE": 20e-6, "ME": 250e-6, "LE": 1.0e-4}
#: background: per-detector continuum rate (counts/s over the full PI range), photon index, and lines
_BKG = {
    "HE": dict(rate=15.0, index=1.4, lines=[(31.0, 1.0), (59.5, 0.6)], junk=8.0),
    "ME": dict(rate=0.08, index=1.0, lines=[(22.1, 0.01)], junk=0.01),
    "LE": dict(rate=0.4, index=0.7, lines=[(1.74, 0.03), (8.05, 0.05)], junk=0.05),
}


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
        blind = np.isin(det, _BLIND[inst])
        nominal = s.n_pi / s.n_channel
        c1 = nominal * (1 + rng.normal(0, 0.02, s.n_det))
        c0 = rng.normal(0, 1.0, s.n_det)
        h = fits.BinTableHDU.from_columns(
            [
                fits.Column("DET_ID", "I", array=det),
                fits.Column("BLIND", "L", array=blind),
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
                "TAU": (_TAU[inst], "[s] dead time per event per detector"),
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
                fits.Column("SPECRESP", "E", array=_area_model(inst, mid), unit="cm**2"),
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
                fits.Column("FWHM", "E", array=_fwhm_model(inst, e), unit="keV"),
            ],
            name="RESOLUTION",
        )
        h.header.update({"TELESCOP": "HXMT", "INSTRUME": inst, "CCNM0001": "RESOLUTION"})
        p = base / "bcf" / f"hxmt_{low}_resol_v{VERSION}.fits"
        write(p, [h])
        entry["RESOLUTION"] = str(p.relative_to(root))
        # particle background
        b = _BKG[inst]
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
                "CONTRATE": (b["rate"], "[cts/s/det] particle continuum"),
                "CONTINDX": (b["index"], "continuum photon index"),
                "JUNKRATE": (b["junk"], "[cts/s/det] events cut by flags/PW/ACD"),
            }
        )
        p = base / "bcf" / f"hxmt_{low}_bkg_v{VERSION}.fits"
        write(p, [h])
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
    tau
        Dead time per recorded event and detector (s).
    arf_lo, arf_hi, area
        Effective area of all open detectors on the energy grid (keV, keV, cm2), shape (n_e,).
    res_energy, res_fwhm
        Energy resolution table (keV).
    bkg_rate, bkg_index, bkg_junk
        Particle continuum (count/s/detector), its index, screened-out event rate (count/s/detector).
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
    bkg_rate: float
    bkg_index: float
    bkg_junk: float
    line_energy: np.ndarray
    line_rate: np.ndarray
    files: dict

    @property
    def open_detectors(self) -> np.ndarray:
        return self.det_id[~self.blind]

    @property
    def blind_detectors(self) -> np.ndarray:
        return self.det_id[self.blind]

    def sigma(self, energy: np.ndarray) -> np.ndarray:
        """Gaussian sigma of the energy resolution (keV) at ``energy`` (keV)."""
        return np.interp(energy, self.res_energy, self.res_fwhm) / 2.3548

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
    det, hd = _read_table(base / index["DETECTORS"], "DETECTORS", ["DET_ID", "BLIND", "GAIN_C0", "GAIN_C1"])
    arf, _ = _read_table(base / index["SPECRESP"], "SPECRESP", ["ENERG_LO", "ENERG_HI", "SPECRESP"])
    res, _ = _read_table(base / index["RESOLUTION"], "RESOLUTION", ["ENERGY", "FWHM"])
    bkg, hb = _read_table(base / index["BACKGROUND"], "BACKGROUND", ["ENERGY", "RATE"])
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
        bkg_rate=float(hb["CONTRATE"]),
        bkg_index=float(hb["CONTINDX"]),
        bkg_junk=float(hb["JUNKRATE"]),
        line_energy=bkg["ENERGY"].astype(float),
        line_rate=bkg["RATE"].astype(float),
        files={k: str(base / v) for k, v in index.items()},
    )
