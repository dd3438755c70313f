"""Insight-HXMT: simulator, calibration, GTI, screening, products, timing, app."""
