"""The response envelope as a plain dict: no third-party package needed."""

from __future__ import annotations

from typing import Any, Dict

from flyer_status._codes import is_known, phrase
from flyer_status._context import get_request_id


def envelope(
    code: int,
    message: str = "",
    detail: str = "",
    data: Any = None,
    request_id: str = "",
) -> Dict[str, Any]:
    """`{"code", "message", "detail", "data", "request_id"}`, the shape of every flyer response.

    An empty `message` becomes the code's phrase; an empty `request_id` the current request's.
    """
    if not message and is_known(code):
        message = phrase(code)
    return {
        "code": code,
        "message": message,
        "detail": detail,
        "data": data,
        "request_id": request_id or get_request_id() or "",
    }
