"""daisy_deadtime: Insight-HXMT dead-time correction of light curves, a Fortran Daisy plug-in.

The algorithm ``deadtime.correct_rates`` is in :mod:`daisy_deadtime.algorithms`;
:func:`daisy_deadtime.algorithms.correct_rates` is the array function.
"""

__version__ = "0.1.0"
