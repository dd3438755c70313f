"""One short path for array reads of served HDF5 files: ``GET /api/v1/array/full/<entry>?slice=...``.

Tiled answers every array request through its whole stack: FastAPI's dependencies, the
catalog looked up segment by segment in the database, the adapter rebuilt. For a single
projection that costs ~10 times the read itself. :class:`FastArrayReads` sits between
:class:`.access.UserAreaGuard` and Tiled and remembers, for an entry Tiled itself has just
served (status 200) from an HDF5 file kept open (:mod:`.hdf5_cache`), which file and
dataset it was; later reads of that entry are answered from the open file directly with the
same bytes Tiled sends (``application/octet-stream``, C order, the dataset's dtype).

Only what Tiled would serve in the same way takes the short path:

* ``GET`` with the service's master key in the ``Authorization`` header (what Tiled's own
  client sends, and what the guard substitutes for a user key it has allowed: the per-user
  rules are applied before this point, unchanged); anything else goes to Tiled, which
  checks the key itself;
* ``Accept: application/octet-stream``, no compression asked, no parameter but ``slice``
  and ``expected_shape``, a slice Tiled's pattern accepts, a result within Tiled's response
  limit and of the expected shape;
* an entry learnt less than :data:`ROUTE_TTL_S` seconds ago; any request that is not a read
  (a write, a deletion) forgets every entry, so a changed catalog is always seen through Tiled.

A file that changed on disk is re-opened (:class:`.hdf5_cache.OpenFiles`); a file that is gone,
or whose dataset now has another shape, chunks or type, sends the request to Tiled, which
answers as it always did (and the entry is learnt anew).
"""

from __future__ import annotations

import hmac
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from .hdf5_cache import SERVED, CachedHDF5ArrayAdapter

PREFIX = "/api/v1/array/full/"
#: seconds an entry learnt from Tiled is served on the short path before Tiled is asked again
ROUTE_TTL_S = 30.0
#: entries remembered at most
MAX_ROUTES = 1024


class FastArrayReads:
    """ASGI middleware: serves repeated array reads of open HDF5 files without Tiled's stack.

    Parameters
    ----------
    app
        The Tiled application.
    master_key
        The service's master API key (the only key Tiled accepts).
    """

    def __init__(self, app: Any, master_key: str):
        from tiled.server.dependencies import SLICE_REGEX
        from tiled.server.settings import get_settings

        self.app = app
        self._auth = f"Apikey {master_key}".encode()
        self._slice = re.compile(SLICE_REGEX)
        self._limit = get_settings().response_bytesize_limit
        self.routes: dict[str, tuple[float, CachedHDF5ArrayAdapter]] = {}
        self.served = 0  # reads answered on the short path (for tests and profiles)

    def _plan(self, scope: dict) -> tuple[CachedHDF5ArrayAdapter, Any] | None:
        """``(adapter, slice)`` when the request may take the short path, else None."""
        from tiled.ndslice import NDSlice

        route = self.routes.get(scope["path"][len(PREFIX) :])
        if route is None or time.monotonic() - route[0] > ROUTE_TTL_S:
            return None
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        if not hmac.compare_digest(auth, self._auth):
            return None
        if headers.get(b"accept") != b"application/octet-stream":
            return None
        if headers.get(b"accept-encoding", b"identity").strip() not in (b"identity", b""):
            return None
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        if set(params) - {"slice", "expected_shape"}:
            return None
        text = params.get("slice", "")
        if not self._slice.match(text):
            return None
        try:
            slc = NDSlice.from_numpy_str(text)
            adapter = route[1]
            shape = tuple(slc.shape_after_slice(adapter.structure().shape))
        except Exception:
            return None
        expected = params.get("expected_shape")
        if expected is not None and expected != (",".join(map(str, shape)) or "scalar"):
            return None
        nbytes = adapter.structure().data_type.to_numpy_dtype().itemsize
        for n in shape:
            nbytes *= n
        return (adapter, slc) if nbytes <= self._limit else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD", "OPTIONS"):
            self.routes.clear()  # a write or a deletion may change the catalog
        if method != "GET" or not scope.get("path", "").startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        plan = self._plan(scope)
        if plan is not None:
            body = await self._read(*plan)
            if body is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-type", b"application/octet-stream"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                self.served += 1
                return
        await self._learn(scope, receive, send)

    async def _read(self, adapter: CachedHDF5ArrayAdapter, slc: Any) -> memoryview | None:
        import anyio
        import numpy as np

        dtype = adapter.structure().data_type.to_numpy_dtype()

        def read() -> memoryview | None:
            try:
                arr = adapter.read_if_unchanged(slc)
            except OSError:  # the file is gone or unreadable: Tiled answers as it always did
                return None
            if arr is None:  # the file now holds another shape or type: Tiled describes it anew
                return None
            # the array's own memory, not a copy (as Tiled's octet-stream serializer gives it)
            return memoryview(np.ascontiguousarray(arr, dtype=dtype)).cast("B")

        return await anyio.to_thread.run_sync(read)

    async def _learn(self, scope: dict, receive: Any, send: Any) -> None:
        status = 0

        async def watch(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        seen: list = []
        token = SERVED.set(seen)
        try:
            await self.app(scope, receive, watch)
        finally:
            SERVED.reset(token)
        entry = scope["path"][len(PREFIX) :]
        if status == 200 and seen and entry.rstrip("/").endswith("/" + seen[-1].dataset_path):
            if len(self.routes) >= MAX_ROUTES:
                self.routes.clear()
            self.routes[entry] = (time.monotonic(), seen[-1])
