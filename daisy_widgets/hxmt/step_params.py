"""Parameters that several HXMT steps declare alike (the telescope, the detectors used)."""

from __future__ import annotations

from ..core.params import Choice, IntList
from .mission import INSTRUMENTS

INSTRUMENT = Choice(
    "instrument", "HE", INSTRUMENTS, help="telescope: HE (20-250 keV), ME (5-30 keV) or LE (1-10 keV)"
)
DETECTORS = IntList(
    "detectors",
    None,
    min=0,
    optional=True,
    help="detector IDs to use, e.g. '0-15,17' (default: all open, non-blind detectors)",
)
