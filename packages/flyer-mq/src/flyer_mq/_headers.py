"""The headers a message carries for flyer: the request id (and W3C trace context)."""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, Optional

from flyer_status import request_id_var

REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._~:+/=-]{1,128}$")

# OpenTelemetry's `propagate` and `context` modules, looked up on the first publish; False when
# OpenTelemetry is not installed.
_otel: Any = None


def _opentelemetry() -> Any:
    global _otel
    if _otel is None:
        try:
            from opentelemetry import context, propagate
        except ImportError:
            _otel = False
        else:
            _otel = (context, propagate)
    return _otel


def outgoing_headers(request_id: Optional[str] = None) -> Dict[str, str]:
    """The headers a message published now carries: `request_id` (else the current request
    id), and the W3C `traceparent` when OpenTelemetry tracing is on (a span or baggage in the
    current OpenTelemetry context)."""
    headers: Dict[str, str] = {}
    found = request_id or request_id_var.get()
    if found:
        headers[REQUEST_ID_HEADER] = found
    otel = _opentelemetry()
    if otel and otel[0].get_current():
        otel[1].inject(headers)
    return headers


def incoming_request_id(headers: Any) -> str:
    """The message's `X-Request-ID` when it is a sane token, else a fresh id."""
    found: Any = None
    if isinstance(headers, dict) and headers:
        found = headers.get(REQUEST_ID_HEADER)
        if found is None:
            for key, value in headers.items():
                if str(key).lower() == REQUEST_ID_HEADER:
                    found = value
                    break
        if isinstance(found, bytes):
            found = found.decode()
        elif found is not None:
            found = str(found)
    if found and _VALID_ID.match(found):
        return str(found)
    return uuid.uuid4().hex
