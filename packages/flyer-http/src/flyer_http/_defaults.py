"""Ready-made clients: `flyer_http.requests` / `client` and `aiorequests` / `aioclient`.

The ancestor's `from fastflyer import requests, aiorequests`: a `Client` and an `AsyncClient`
built from the `flyer_http_*` settings on first use (nothing happens at import). They are
never closed for good, since a module that imported one keeps that object: `release()`
(called by the flyer-core plugin at app shutdown) closes their pooled connections, and the
next call opens new ones. The async client keeps one connection pool per event loop, so it
also works in code that runs several loops one after another (tests, `asyncio.run` twice).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any, Dict, Optional, Union

import httpx

from flyer_http._client import AsyncClient, Client
from flyer_http._settings import SYNC_NAMES, HttpSettings


class _ReopeningTransport(httpx.BaseTransport):
    """An `httpx.HTTPTransport` made on first use; `release()` closes it, the next call reopens."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inner: Optional[httpx.HTTPTransport] = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self._inner is None:
                self._inner = httpx.HTTPTransport()
            inner = self._inner
        return inner.handle_request(request)

    def release(self) -> None:
        with self._lock:
            inner, self._inner = self._inner, None
        if inner is not None:
            inner.close()

    def close(self) -> None:
        self.release()


class _PerLoopTransport(httpx.AsyncBaseTransport):
    """One `httpx.AsyncHTTPTransport` per running event loop: a pool never outlives its loop."""

    def __init__(self) -> None:
        self._inner: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncHTTPTransport]
        self._inner = weakref.WeakKeyDictionary()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        loop = asyncio.get_running_loop()
        inner = self._inner.get(loop)
        if inner is None:
            for stale in [other for other in self._inner if other.is_closed()]:
                del self._inner[stale]  # its sockets went with its loop
            inner = self._inner[loop] = httpx.AsyncHTTPTransport()
        return await inner.handle_async_request(request)

    async def release(self) -> None:
        """Close the running loop's pool (other loops' pools go with their loops)."""
        inner = self._inner.pop(asyncio.get_running_loop(), None)
        if inner is not None:
            await inner.aclose()

    async def aclose(self) -> None:
        await self.release()


_lock = threading.Lock()
_clients: Dict[str, Union[Client, AsyncClient]] = {}
_sync_transport = _ReopeningTransport()
_async_transport = _PerLoopTransport()


def default_client(name: str) -> Any:
    """The ready-made client called `name` (one of SYNC_NAMES or ASYNC_NAMES), made on first use."""
    key = "sync" if name in SYNC_NAMES else "async"
    with _lock:
        found = _clients.get(key)
        if found is None:
            kwargs = HttpSettings.from_env().client_kwargs()
            if key == "sync":
                found = Client(transport=_sync_transport, **kwargs)
            else:
                found = AsyncClient(transport=_async_transport, **kwargs)
            _clients[key] = found
    return found


async def release() -> None:
    """Close the ready-made clients' pooled connections; they reconnect on their next call.

    Called by flyer-core at app shutdown (through the flyer-http plugin); call it yourself
    when you use them without an app and want the sockets closed.
    """
    _sync_transport.release()
    await _async_transport.release()
