"""The served edge: limits a hostile client meets before any app code runs.

flyer's runners give uvicorn `FlyerHttpProtocol`: uvicorn's own HTTP protocol (httptools or
h11, as `--http auto` picks them) with the limits uvicorn lacks, from the served flyer app's
settings (`uvicorn.run(..., http=FlyerHttpProtocol)` applies them under uvicorn too):

- a request's line and headers larger than `flyer_max_header_size`: 431 in the envelope;
- headers not complete `flyer_header_timeout` seconds after they started (or after the
  connection opened): 408 in the envelope, or a plain close when nothing was sent at all;
- a body still incomplete `flyer_body_timeout` seconds after its headers: 408 if no answer
  has started, then the connection closes (the app sees the client leave);
- more than `flyer_worker_connections` open connections: idle keep-alive connections are
  closed to make room, and only when none is idle does the newcomer get a 503 envelope.

Idle keep-alive connections are closed by uvicorn after `flyer_keepalive` seconds. After an
answer of its own, the protocol half-closes and reads what the client still sends for a
moment before closing, so the client reads the answer instead of a connection reset.
The request middleware's per-request work is unchanged: this costs one length check per
read on the connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any, Dict, NamedTuple, Optional

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from flyer_status import EnvelopeRenderer, phrase

LINGER_BYTES = 16 * 1024 * 1024
"""At most this much is read and dropped after an answer of the edge's own."""
LINGER_SECONDS = 5.0
"""...and for at most this long, before the connection closes."""
_WARN_EVERY = 5.0

log = logging.getLogger("flyer.edge")


class EdgeLimits(NamedTuple):
    """The limits one server applies (see the module's docstring)."""

    max_header_size: int = 64 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_connections: int = 1000
    renderer: EnvelopeRenderer = EnvelopeRenderer()


def edge_limits(settings: Any) -> EdgeLimits:
    """The limits from flyer's settings."""
    return EdgeLimits(
        max_header_size=settings.max_header_size,
        header_timeout=float(settings.header_timeout),
        body_timeout=float(settings.body_timeout),
        max_connections=settings.worker_connections,
        renderer=EnvelopeRenderer(settings.status_code_base),
    )


def uvicorn_options(settings: Any) -> Dict[str, Any]:
    """uvicorn `Config` keyword arguments for the edge: the protocol, and h11's own header
    cap lifted just past flyer's so the 431 in the envelope is the one a client meets."""
    return {
        "http": FlyerHttpProtocol,
        "h11_max_incomplete_event_size": settings.max_header_size + 1024,
    }


_limits: weakref.WeakKeyDictionary[Any, EdgeLimits] = weakref.WeakKeyDictionary()


def limits_for(config: Any) -> EdgeLimits:
    """The limits of the flyer app a uvicorn `config` serves (found through the layers uvicorn
    may wrap around it), or the defaults for any other app; worked out once per config."""
    found = _limits.get(config)
    if found is None:
        app = getattr(config, "loaded_app", None)
        settings = None
        for _ in range(8):
            settings = getattr(getattr(app, "state", None), "flyer_settings", None)
            if settings is not None or app is None:
                break
            app = getattr(app, "app", None)
        found = _limits[config] = edge_limits(settings) if settings is not None else EdgeLimits()
    return found


_last_warned: Dict[str, float] = {}


def _warn(event: str, **fields: Any) -> None:
    """A warning at most every few seconds per kind: a flood must not flood the log."""
    now = time.monotonic()
    if now - _last_warned.get(event, -_WARN_EVERY) >= _WARN_EVERY:
        _last_warned[event] = now
        log.warning(event, extra=fields)


_REASONS = {
    408: "the request did not arrive within {seconds:g} s",
    431: "the request line and headers are larger than {size} bytes",
    503: "the server has no free connection (flyer_worker_connections={limit}); retry later",
}


class _Edge:
    """Mixed in before uvicorn's protocol class; uses only what both of uvicorn's HTTP
    protocols have: `transport`, `connections`, `cycle` (`more_body`, `response_started`,
    `response_complete`) and the asyncio protocol methods."""

    limits: EdgeLimits = EdgeLimits()
    transport: Any
    connections: Any
    cycle: Any
    config: Any

    _flyer_head = 0  # bytes of the current, incomplete request head
    _flyer_timer: Optional[asyncio.TimerHandle] = None
    _flyer_body_wait: Any = None  # the cycle whose body the timer waits for
    _flyer_linger = False
    _flyer_dropped = 0
    _flyer_reaped = False
    _flyer_special = False  # refusing or lingering: reads take the slow path
    _flyer_cap = 0
    _flyer_parse: Any = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        limits = self.limits
        if len(self.connections) > limits.max_connections and not self._flyer_make_room():
            self._flyer_special = True  # answered 503 on its first read
        self._flyer_arm(limits.header_timeout, self._flyer_head_timeout)

    def data_received(self, data: bytes) -> None:
        if self._flyer_special:
            self._flyer_special_read(data)
            return
        cycle = self.cycle
        in_head = cycle is None or not cycle.more_body
        if in_head:
            size = self._flyer_head + len(data)
            cap = self._flyer_cap
            if size > cap:
                end = data.find(b"\r\n\r\n")
                if end < 0 and self._flyer_head <= cap and data[:1] in (b"\r", b"\n"):
                    end = 0  # the blank line may straddle two reads: the parser decides
                if end < 0 or self._flyer_head + end + 4 > cap:
                    _warn("request refused: headers too large", limit=cap)
                    if cycle is None or cycle.response_complete:
                        self._flyer_answer(431, size=cap)
                    else:  # an answer is under way: no room for one of ours
                        self.transport.close()
                    return
        self._flyer_parse(data)
        now = self.cycle
        if now is not cycle:  # a request's head is complete
            if self._flyer_head:
                self._flyer_head = 0
            if self._flyer_timer is not None:
                self._flyer_disarm()
            if now.more_body:
                self._flyer_body_wait = now
                self._flyer_arm(self.limits.body_timeout, self._flyer_body_timeout)
        elif in_head:
            if self.transport.get_protocol() is not self:  # upgraded (WebSocket): not ours now
                self._flyer_disarm()
                return
            if not self._flyer_head and self._flyer_timer is None:
                self._flyer_arm(self.limits.header_timeout, self._flyer_head_timeout)
            self._flyer_head = size
        elif not cycle.more_body and self._flyer_body_wait is cycle:
            self._flyer_body_wait = None
            self._flyer_disarm()

    def _flyer_special_read(self, data: bytes) -> None:
        """A read on a connection being refused or closed by the edge."""
        if self._flyer_linger:
            self._flyer_dropped += len(data)
            if self._flyer_dropped > LINGER_BYTES:
                self.transport.close()
            return
        limit = self.limits.max_connections
        _warn("connection refused: no free connection", limit=limit)
        self._flyer_answer(503, limit=limit)

    def eof_received(self) -> Optional[bool]:
        if self._flyer_linger:
            return False  # the client has read the answer and closed: close too
        return super().eof_received()  # type: ignore[misc,no-any-return]

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._flyer_disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    # What the mixin adds.

    def _flyer_idle(self) -> bool:
        """Served a request, answered it completely, and nothing of the next one is here."""
        cycle = self.cycle
        return (
            cycle is not None
            and cycle.response_complete
            and not self._flyer_head
            and not self._flyer_linger
            and not self._flyer_reaped
            and not getattr(self, "pipeline", None)
        )

    def _flyer_make_room(self) -> bool:
        """Close idle keep-alive connections until this one fits; False if none was idle."""
        excess = len(self.connections) - self.limits.max_connections
        for other in list(self.connections):
            if excess <= 0:
                break
            idle = getattr(other, "_flyer_idle", None)
            if other is not self and idle is not None and idle():
                other._flyer_reaped = True  # closing: not to be counted twice
                other.transport.close()
                excess -= 1
        return excess <= 0

    def _flyer_arm(self, seconds: float, callback: Any) -> None:
        self._flyer_disarm()
        self._flyer_timer = asyncio.get_running_loop().call_later(seconds, callback)

    def _flyer_disarm(self) -> None:
        if self._flyer_timer is not None:
            self._flyer_timer.cancel()
            self._flyer_timer = None

    def _flyer_head_timeout(self) -> None:
        self._flyer_timer = None
        if self._flyer_linger or self.transport.is_closing():
            return
        cycle = self.cycle
        if self._flyer_head and (cycle is None or cycle.response_complete):
            _warn("request refused: headers too slow", seconds=self.limits.header_timeout)
            self._flyer_answer(408, seconds=self.limits.header_timeout)
        elif cycle is None:
            self.transport.close()  # connected, sent nothing
        elif self._flyer_head:
            self.transport.close()  # an answer is under way: no room for one of ours

    def _flyer_body_timeout(self) -> None:
        self._flyer_timer = None
        cycle = self._flyer_body_wait
        self._flyer_body_wait = None
        if cycle is None or cycle is not self.cycle or not cycle.more_body:
            return
        if self.transport.is_closing():
            return
        _warn("request refused: body too slow", seconds=self.limits.body_timeout)
        if not cycle.response_started:
            # The app is still waiting for the body: answer, then close at once (the app
            # sees the client leave and its own answer is dropped).
            self._flyer_answer(408, linger=False, seconds=self.limits.body_timeout)
        else:
            self.transport.close()

    def _flyer_answer(self, status: int, linger: bool = True, **reason: Any) -> None:
        """Write an envelope of the edge's own, half-close, and drop what still comes."""
        from flyer_core._middleware import new_request_id

        request_id = new_request_id()
        detail = _REASONS[status].format(**reason)
        body = self.limits.renderer.render(status, "", detail, None, request_id)
        head = (
            f"HTTP/1.1 {status} {phrase(status)}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n"
            f"x-request-id: {request_id}\r\n"
        )
        if status == 503:
            head += "retry-after: 1\r\n"
        transport = self.transport
        transport.write(head.encode("latin-1") + b"\r\n" + body)
        self._flyer_linger = self._flyer_special = True
        self._flyer_disarm()
        if not linger:
            transport.close()
            return
        try:
            transport.resume_reading()
            if transport.can_write_eof():
                transport.write_eof()
        except (AttributeError, RuntimeError, OSError):
            transport.close()
            return
        self._flyer_timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)


class FlyerHttpProtocol(_Edge, AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol (the one `--http auto` picks) with the edge's limits, taken
    from the flyer app it serves. A plain importable class, so the uvicorn config naming it
    can be pickled for the reloader's and workers' processes."""

    _flyer_parse = AutoHTTPProtocol.data_received  # called directly: no super() per read

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits_for(self.config)
        self._flyer_cap = self.limits.max_header_size
