"""Daisy: on-site data analysis for tomography and Insight-HXMT, as a library, a CLI and Voila apps."""

__version__ = "0.1.0"
