"""Array regions read from the data service over kept-alive HTTP/1.1 connections, straight into the result.

A slice read through Tiled's client costs about twice the service's answer on a 2 MB
projection: httpx builds the request (URL merging, cookies, proxy rules), h11 hands the
body over in 64 kB events, the events are joined into one ``bytes`` object, and the
read-only array made from it is copied once more to be writable. :class:`RegionReader`
sends the same ``GET /api/v1/array/full/<entry>?slice=...&expected_shape=...`` with the same
``Authorization: Apikey ...`` header on one kept-alive ``http.client`` connection per thread
and reads the body with ``readinto`` into the array that is returned: one copy from the
socket, nothing joined.

It is taken only where it sends exactly what Tiled's client would and reads what the service
answers Tiled's client (:meth:`RegionReader.usable`): a plain ``http://`` address with no proxy
for it, an API key, no compression asked, no client-side cache, no response hooks (request
hooks are called with the request, as httpx calls them). Anything the short reader does not
expect (a status other than 200, another content type or encoding, a body of another length,
a connection that fails twice) returns None, and the caller reads the region through Tiled's
client, which reports errors as it always did. The service checks the key of every request,
on this path as on any other.
"""

from __future__ import annotations

import http.client
import threading
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np

#: seconds a connection waits for the service (when the client sets none)
DEFAULT_TIMEOUT_S = 30.0


class RegionReader:
    """Reads regions of one service array (``client``: Tiled's array client) over kept-alive connections.

    Parameters
    ----------
    client
        Tiled's ``ArrayClient`` of the entry (its ``full`` link, its HTTP client's headers).
    """

    def __init__(self, client: Any):
        http = client.context.http_client
        full = urlsplit(client.item["links"]["full"])
        self._http = http
        self._host, self._port = full.hostname or "", full.port or 80
        self._path = full.path
        self._query = parse_qsl(full.query, keep_blank_values=True)
        self._url = client.item["links"]["full"].split("?")[0]
        self._scheme = full.scheme
        timeout = getattr(http, "timeout", None)
        self._timeout = getattr(timeout, "read", None) or DEFAULT_TIMEOUT_S
        self._local = threading.local()  # one connection per thread
        # Tiled's cap on the requests in flight at once (``max_connections``), shared with its client
        self._throttle = client.context.throttle()
        self.requests = 0  # requests sent on this path (for tests and profiles)

    def usable(self) -> bool:
        """True when this path sends what Tiled's client would send (see the module's notes)."""
        from urllib.request import getproxies, proxy_bypass

        http = self._http
        headers = http.headers
        auth = headers.get("authorization", "")
        if self._scheme != "http" or not self._host or not auth.startswith("Apikey "):
            return False
        if headers.get("accept-encoding", "").strip().lower() != "identity":
            return False  # compression asked: the service answers through Tiled, compressed
        if getattr(http, "auth", None) is not None or http.event_hooks.get("response"):
            return False
        transport = getattr(http, "_transport", None)
        if getattr(transport, "cache", None) is not None:
            return False
        inner = getattr(transport, "transport", transport)
        if type(inner).__name__ != "HTTPTransport" or http._mounts:  # an in-process app, or mounts
            return False
        proxied = bool(getattr(http, "_trust_env", True) and getproxies().get("http"))
        return not proxied or bool(proxy_bypass(self._host))

    def _connection(self, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not fresh:
            return conn, True
        if conn is not None:
            conn.close()
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        self._local.conn = conn
        return conn, False

    def read(self, region_text: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
        """The region (Tiled's ``slice`` text ``region_text``) as a new writable array, or None.

        None: the answer was not the expected raw array (the caller asks through Tiled's client).
        """
        params = [
            *self._query,
            ("expected_shape", ",".join(map(str, shape)) or "scalar"),
            ("slice", region_text),
        ]
        target = f"{self._path}?{urlencode(params)}"
        auth = self._http.headers.get("authorization", "")
        if not auth.startswith("Apikey "):  # the key was taken off the client meanwhile
            return None
        headers = {
            "Authorization": auth,
            "Accept": "application/octet-stream",
            "Accept-Encoding": "identity",
            "User-Agent": self._http.headers.get("user-agent", "daisy"),
        }
        hooks = self._http.event_hooks.get("request")
        if hooks:
            import httpx

            request = httpx.Request("GET", f"{self._url}?{urlencode(params)}", headers=headers)
            for hook in hooks:
                hook(request)
        out = np.empty(shape, dtype)
        with self._throttle:
            return self._send(target, headers, out)

    def _send(self, target: str, headers: dict, out: np.ndarray) -> np.ndarray | None:
        for fresh in (False, True):
            conn, reused = self._connection(fresh)
            try:
                conn.request("GET", target, headers=headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if reused:  # the service closed an idle kept-alive connection: once more on a new one
                    continue
                return None
            self.requests += 1
            return self._body(conn, resp, out)
        return None

    def _body(self, conn: http.client.HTTPConnection, resp: Any, out: np.ndarray) -> np.ndarray | None:
        ok = (
            resp.status == 200
            and resp.getheader("content-type", "") == "application/octet-stream"
            and resp.getheader("content-encoding", "identity") == "identity"
            and resp.length == out.nbytes
        )
        if not ok:
            conn.close()  # the body is not read: this connection is not used again
            self._local.conn = None
            return None
        view = memoryview(out).cast("B")
        got = 0
        try:
            while got < out.nbytes:
                n = resp.readinto(view[got:])
                if not n:
                    break
                got += n
        except (OSError, http.client.HTTPException):
            got = -1
        if got != out.nbytes:
            conn.close()
            self._local.conn = None
            return None
        resp.close()
        return out
