"""The HXMT pipeline steps as Daisy algorithms (entry point ``hxmt``), mirroring HXMTDAS.

``hxmt.load_l1`` -> ``hxmt.pical`` -> (``hxmt.grade`` ME | ``hxmt.recon`` LE) -> ``hxmt.gtigen``
-> ``hxmt.screen`` -> ``hxmt.lcgen``, ``hxmt.specgen``, ``hxmt.rspgen``, ``hxmt.bkgmap``
-> ``hxmt.barycorr`` -> ``hxmt.fold``, ``hxmt.z2search``, ``hxmt.powspec`` -> ``hxmt.write_products``;
``hxmt.pical_screen`` (HE) does pical and screen in one pass over blocks of the event file.
Tables are numpy structured arrays; light curves, spectra and responses are the
dataclasses of :mod:`.products`.

The steps live by concern in :mod:`.steps_reduction`, :mod:`.steps_products` and
:mod:`.steps_timing`; this module is the ``daisy.algorithms`` entry point (``ALGORITHMS``) and
keeps every step importable from here.
"""

from __future__ import annotations

from .steps_products import BkgMap, LcGen, RspGen, SpecGen, WriteProducts
from .steps_reduction import Grade, GtiGen, LoadL1, PiCal, PiCalScreen, Recon, Screen
from .steps_timing import BaryCorr, Fold, PowSpec, PulseProfile, TimingResult, Z2Search, orbit_xyz

__all__ = [
    "ALGORITHMS",
    "BaryCorr",
    "BkgMap",
    "Fold",
    "Grade",
    "GtiGen",
    "LcGen",
    "LoadL1",
    "PiCal",
    "PiCalScreen",
    "PowSpec",
    "PulseProfile",
    "Recon",
    "RspGen",
    "Screen",
    "SpecGen",
    "TimingResult",
    "WriteProducts",
    "Z2Search",
    "orbit_xyz",
]


ALGORITHMS = [
    LoadL1,
    PiCal,
    Grade,
    Recon,
    GtiGen,
    Screen,
    PiCalScreen,
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
