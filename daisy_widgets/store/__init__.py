"""Data-store client: local HDF5/FITS and the remote data service (Tiled).

Importing this package is cheap: the functions below are loaded on first use
(Tiled, pandas and astropy are imported only when a function needs them).

- :func:`open_scan`, :func:`open_observation`: one interface for local files and service entries
- :func:`search_observations`: HXMT archive query (target, ObsID, cone, time range) -> pandas table
- :func:`fetch_observation`: Level-1 files into the user's cache, checksums verified
- :func:`write_volume`, :func:`write_products`, :func:`fetch_products`: results in the user's area
- :func:`connect`: the Tiled client (``DAISY_TILED_URL``, ``DAISY_TILED_API_KEY``)
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "open_scan": "objects",
    "open_observation": "objects",
    "Observation": "objects",
    "ScanData": "objects",
    "search_observations": "client",
    "fetch_observation": "client",
    "write_volume": "client",
    "write_products": "client",
    "fetch_products": "client",
    "connect": "client",
    "ServiceError": "client",
    "ObservationQuery": "query",
    "angular_distance": "query",
    "to_mission_time": "query",
    "ensure_api_key": "settings",
    "ServiceNotConfigured": "settings",
}
__all__ = sorted(_LAZY)  # noqa: PLE0605 (names of the lazy imports above)


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value
