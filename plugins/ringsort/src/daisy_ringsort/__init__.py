"""daisy_ringsort: sorting-based ring-artefact removal for tomography, a C++ Daisy plug-in.

The algorithm ``ringsort.remove_stripes`` is in :mod:`daisy_ringsort.algorithms`;
:func:`daisy_ringsort.algorithms.remove_stripes` is the array function.
"""

__version__ = "0.1.0"
