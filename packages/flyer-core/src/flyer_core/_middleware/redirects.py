"""Redirects that point back at this server, made relative: a redirect is never built from
the request's `Host` (which the client chose) nor carries the server's address or a scheme a
TLS proxy in front does not use."""

from __future__ import annotations

from typing import Any, Iterable, List, Set, Tuple
from urllib.parse import urlsplit, urlunsplit

from starlette.types import Scope


def relative_locations(scope: Scope, headers: Iterable[Tuple[bytes, bytes]]) -> List[Any]:
    """`headers` with each `Location` that points at this server (by the request's `Host`
    or the server's address) made relative."""
    own = set()
    for name, value in scope["headers"]:
        if name == b"host":
            own.add(value.decode("latin-1").strip().lower())
    server = scope.get("server")
    if server:
        own.add(f"{server[0]}:{server[1]}".lower() if server[1] is not None else str(server[0]))
        own.add(str(server[0]).lower())
    out: List[Any] = []
    for name, value in headers:
        if name.lower() == b"location":
            value = _relative(value, own)
        out.append((name, value))
    return out


def _relative(location: bytes, own: Set[str]) -> bytes:
    parts = urlsplit(location.decode("latin-1"))
    if not parts.netloc or parts.netloc.lower() not in own:
        return location
    # "//host" or "/\host" would leave the site: one leading slash only.
    path = "/" + parts.path.lstrip("/\\")
    return urlunsplit(("", "", path, parts.query, parts.fragment)).encode("latin-1")
