"""Per-user access to the data service: each user's key opens the shared data read-only and
their own area ``users/<name>`` read-write, and nothing of another user.

The service has one master key (``DAISY_TILED_API_KEY`` of the service, or
``<state>/tiled_api_key``): operators and the hub hold it, Tiled checks it. A user's key is
derived from it, so the service needs no user database and the hub can hand one to every
server it starts::

    u<user name as hex>_<HMAC-SHA256(master, "daisy-user-key:" + user), 40 hex digits>

(letters, digits and ``_`` only, as Tiled's client requires). :class:`UserAreaGuard` wraps
the Tiled application: a request with a valid user key is checked against that user's rights,
then passed on with the master key; any other request (master key, no key, a wrong key) goes
to Tiled unchanged, which refuses what it must (401).

Rules for a user key (the entry path is the part of the URL from the first top-level entry
on: ``tomography``, ``hxmt`` or ``users``):

* reads (GET, HEAD) anywhere outside ``users/``;
* reads and writes under ``users/<own name>/``;
* creating ``users/<own name>`` (POST to the ``users`` container with that key);
* the ``users`` container's own metadata; not its listing, nor anything of another user;
* no write outside the user's area.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

#: the top-level entries of the catalog; the user areas live under ``users``
TOP_LEVEL = ("tomography", "hxmt", "users")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
_USER_KEY = re.compile(r"^u((?:[0-9a-f]{2})+)_([0-9a-f]{40})$")
_API_KEY_COOKIE = "tiled_api_key"


def _mac(master: str, user: str) -> str:
    return hmac.new(master.encode(), b"daisy-user-key:" + user.encode(), hashlib.sha256).hexdigest()[:40]


def user_api_key(master: str, user: str) -> str:
    """The key of ``user`` derived from the service's master key (give it to that user only)."""
    if not user:
        raise ValueError("user name: expected a non-empty name")
    return f"u{user.encode().hex()}_{_mac(master, user)}"


def user_of_key(key: str | None, master: str) -> str | None:
    """The user whose key ``key`` is, or None (not a user key, or not derived from ``master``)."""
    m = _USER_KEY.match(key or "")
    if not m:
        return None
    try:
        user = bytes.fromhex(m.group(1)).decode()
    except UnicodeDecodeError:
        return None
    return user if hmac.compare_digest(m.group(2), _mac(master, user)) else None


def refusal(method: str, path: str, user: str, body: bytes = b"") -> str | None:
    """Why ``user`` may not ``method`` ``path`` (the URL path), or None when allowed."""
    segs = [s for s in path.split("/") if s]
    start = next((i for i, s in enumerate(segs) if s in TOP_LEVEL), None)
    reading = method.upper() in READ_METHODS
    if start is None or segs[start] != "users":
        return None if reading else "the shared data are read-only; write to your own area users/<you>"
    rest = segs[start + 1 :]
    if rest:
        if rest[0] != user:
            return f"users/{rest[0]} is another user's area"
        return None
    route = segs[start - 1] if start else ""
    if reading:
        return None if route == "metadata" else "the list of users' areas is not open to users"
    if method.upper() == "POST" and route == "metadata":
        try:
            doc = json.loads(body or b"{}")
            key = doc.get("id", doc.get("key"))  # Tiled's client names the new entry "id"
        except (ValueError, AttributeError):
            key = None
        return None if key == user else f"a user creates only users/{user}, not users/{key}"
    return "the users container is not writable by users"


def _creates_an_area(method: str, path: str) -> bool:
    """A POST to the ``users`` container itself (whose body names the new entry)."""
    segs = [s for s in path.split("/") if s]
    return method.upper() == "POST" and len(segs) >= 2 and segs[-1] == "users" and segs[-2] == "metadata"


async def _read_body(receive: Any, limit: int = 1 << 20) -> bytes | None:
    """The whole request body, or None when it exceeds ``limit`` bytes (no container creation is)."""
    chunks, size, more = [], 0, True
    while more:
        msg = await receive()
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = msg.get("more_body", False)
    return b"".join(chunks)


def _key_of(scope: dict) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, param = value.decode("latin-1").partition(" ")
            if scheme.lower() == "apikey":
                return param.strip()
    for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
        if k == "api_key":
            return v
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == _API_KEY_COOKIE:
                    return v
    return None


def _with_master_key(scope: dict, master: str) -> dict:
    headers = [(n, v) for n, v in scope.get("headers", []) if n not in (b"authorization", b"cookie")]
    headers.append((b"authorization", f"Apikey {master}".encode()))
    query = [
        (k, v)
        for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if k != "api_key"
    ]
    return {**scope, "headers": headers, "query_string": urlencode(query).encode("latin-1")}


class UserAreaGuard:
    """ASGI middleware in front of the Tiled app: enforces :func:`refusal` for user keys."""

    def __init__(self, app: Any, master_key: str):
        self.app = app
        self.master = master_key

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        user = user_of_key(_key_of(scope), self.master)
        if user is None:
            await self.app(scope, receive, send)
            return
        # only creating an area needs the (small JSON) body; uploads of data stream through untouched
        creates = _creates_an_area(scope["method"], scope["path"])
        body = await _read_body(receive) if creates else b""
        why = (
            "the request body is too large to create an area"
            if body is None
            else refusal(scope["method"], scope["path"], user, body)
        )
        if why:
            payload = json.dumps({"detail": f"forbidden for user {user}: {why}"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": payload})
            return
        if not creates:
            await self.app(_with_master_key(scope, self.master), receive, send)
            return
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(_with_master_key(scope, self.master), replay, send)
