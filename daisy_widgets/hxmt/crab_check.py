"""The simulated Crab against the published figures of a real one (:data:`.caldb_model.CRAB_REFERENCE`).

:func:`compare_with_reference` simulates the default Crab (what ``daisy hxmt simulate`` writes with
its defaults), runs each instrument's pipeline, and measures per band the net rate (source spectrum
minus the blind-detector background, both per second of dead-time corrected exposure) and the
background rate, and the on-axis areas of the pipeline's responses (each matrix row summed) at the
reference energies. ``docs/hxmt.md`` holds the table; ``tests/hxmt/test_crab_realism.py`` keeps every
row within 20 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .caldb_model import CRAB_REFERENCE
from .mission import spec


@dataclass(frozen=True)
class ComparisonRow:
    """One figure: ``quantity`` (``net``, ``background`` in counts/s, ``area`` in cm2) of ``instrument``
    in ``band`` (keV; an area's band is ``(E, E)``), simulated against published."""

    instrument: str
    quantity: str
    band: tuple[float, float]
    simulated: float
    published: float

    @property
    def ratio(self) -> float:
        return self.simulated / self.published


def band_channels(instrument: str, lo: float, hi: float) -> np.ndarray:
    """PI channels whose energy range lies in ``lo..hi`` keV (to a tenth of a channel)."""
    s = spec(instrument)
    k = np.arange(s.n_pi)
    tol = 0.1 * s.slope
    return k[(s.energy(k) >= lo - tol) & (s.energy(k + 1) <= hi + tol)]


def band_rates(out_dir: str | Path, instrument: str, lo: float, hi: float) -> tuple[float, float]:
    """(net, background) counts/s in ``lo..hi`` keV from a pipeline's ``X_spec.pha`` and ``X_bkg.pha``:
    the background scaled by the ratio of BACKSCAL (detectors) as XSPEC and Sherpa do."""
    from astropy.io import fits

    x = spec(instrument).name
    ch = band_channels(x, lo, hi)
    with fits.open(Path(out_dir) / f"{x}_spec.pha") as hs, fits.open(Path(out_dir) / f"{x}_bkg.pha") as hb:
        s, b = hs["SPECTRUM"], hb["SPECTRUM"]
        src = s.data["COUNTS"][ch].sum() / s.header["EXPOSURE"]
        bkg = b.data["COUNTS"][ch].sum() / b.header["EXPOSURE"] * s.header["BACKSCAL"] / b.header["BACKSCAL"]
    return float(src - bkg), float(bkg)


def response_area(instrument: str, energy: float) -> float:
    """On-axis area (cm2) of the pipeline's response at ``energy`` keV: its matrix row summed."""
    from .products import make_response

    rsp = make_response(instrument)
    i = int(np.searchsorted(rsp.energ_hi, energy))
    return float(rsp.matrix[i].sum())


def compare_with_reference(
    work: str | Path, exposure: float = 2000.0, seed: int = 0, instruments=("HE", "ME", "LE"), progress=None
) -> list[ComparisonRow]:
    """Simulate the default Crab (``exposure`` s from the CLI's default start), run the pipelines under
    ``work``, and compare with :data:`CRAB_REFERENCE`; returns one row per published figure."""
    from .pipeline import run_pipeline
    from .simulate import DEFAULT_START, SimulationConfig, simulate_observation

    work = Path(work)
    cfg = SimulationConfig(
        instruments=tuple(instruments), exposure=exposure, start=DEFAULT_START + 800.0, seed=seed
    )
    l1 = simulate_observation(work / "l1", cfg)
    rows: list[ComparisonRow] = []
    for x in instruments:
        out = work / x
        run_pipeline(l1, x, out)
        for (lo, hi), (net, bkg) in CRAB_REFERENCE["rates"][x].items():
            n, b = band_rates(out, x, lo, hi)
            rows.append(ComparisonRow(x, "net", (lo, hi), n, net))
            rows.append(ComparisonRow(x, "background", (lo, hi), b, bkg))
        for e, area in CRAB_REFERENCE["areas"].get(x, {}).items():
            rows.append(ComparisonRow(x, "area", (e, e), response_area(x, e), area))
        if progress:
            progress(x)
    return rows


def format_table(rows: list[ComparisonRow]) -> str:
    """The rows as a Markdown table (as in ``docs/hxmt.md``)."""
    lines = [
        "| instrument | quantity | band or energy (keV) | published | simulated | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        where = f"{r.band[0]:g}" if r.band[0] == r.band[1] else f"{r.band[0]:g}-{r.band[1]:g}"
        unit = "cm²" if r.quantity == "area" else "counts/s"
        lines.append(
            f"| {r.instrument} | {r.quantity} ({unit}) | {where} | {r.published:g} | {r.simulated:.1f} | {r.ratio:.2f} |"
        )
    return "\n".join(lines)


__all__ = [
    "ComparisonRow",
    "band_channels",
    "band_rates",
    "compare_with_reference",
    "format_table",
    "response_area",
]
