"""The current request id, shared between packages without importing one another.

flyer-core's middleware sets it for the duration of a request; flyer-http reads it to send
`X-Request-ID` on outgoing calls; the envelope models fill `request_id` from it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Optional

request_id_var: ContextVar[Optional[str]] = ContextVar("flyer_request_id", default=None)


def get_request_id() -> Optional[str]:
    """The id of the request being handled in this context, or None outside a request."""
    return request_id_var.get()
