"""The headers a message carries for flyer: the request id (and W3C trace context)."""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, Optional

from flyer_status import request_id_var

REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._~:+/=-]{1,128}$")


def outgoing_headers() -> Dict[str, str]:
    """The headers a message published now carries: the current request id, and the W3C
    `traceparent` when OpenTelemetry tracing is on."""
    headers: Dict[str, str] = {}
    request_id = request_id_var.get()
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    try:
        from opentelemetry import propagate
    except ImportError:
        return headers
    propagate.inject(headers)
    return headers


def incoming_request_id(headers: Any) -> str:
    """The message's `X-Request-ID` when it is a sane token, else a fresh id."""
    found: Optional[str] = None
    if isinstance(headers, dict):
        for key, value in headers.items():
            if str(key).lower() == REQUEST_ID_HEADER:
                found = value.decode() if isinstance(value, bytes) else str(value)
                break
    if found and _VALID_ID.match(found):
        return found
    return uuid.uuid4().hex
