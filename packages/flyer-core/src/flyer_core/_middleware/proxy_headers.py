"""The client's address and scheme behind trusted proxies (`flyer_trusted_proxies`)."""

from __future__ import annotations

import ipaddress
from typing import List, Optional, Tuple

from starlette.types import ASGIApp, Receive, Scope, Send

from flyer_core._settings import Network


class TrustedProxyMiddleware:
    """`X-Forwarded-For` and `X-Forwarded-Proto`, believed only from a trusted peer (as
    uvicorn's proxy headers, with `trusted_proxies` as the trusted list): the client is the
    rightmost address that is not a trusted proxy."""

    def __init__(self, app: ASGIApp, trusted_proxies: Tuple[Network, ...]) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            if client and self._trusted(client[0]):
                self._from_proxy(scope)
        await self.app(scope, receive, send)

    def _from_proxy(self, scope: Scope) -> None:
        forwarded: List[bytes] = []
        proto: Optional[bytes] = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded.append(value)
            elif name == b"x-forwarded-proto":
                proto = value
        if proto is not None:
            scheme = proto.decode("latin-1").split(",")[-1].strip().lower()
            if scheme in ("http", "https"):
                scope["scheme"] = scheme
        if forwarded:
            self._resolve_client(scope, forwarded)

    def _resolve_client(self, scope: Scope, forwarded: List[bytes]) -> None:
        client = scope["client"]
        hops = [h.strip() for v in forwarded for h in v.decode("latin-1").split(",")]
        for hop in reversed(hops):
            if not hop:
                continue
            if not self._trusted(hop):
                scope["client"] = (hop, 0)
                return
        scope["client"] = (hops[0], 0) if hops and hops[0] else client

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)
