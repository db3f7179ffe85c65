"""The response envelope as a plain dict or JSON bytes: no third-party package needed."""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any, Dict, Optional

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


class EnvelopeRenderer:
    """The one place an app's envelope is built: the body code is offset by `code_base`
    (`flyer_status_code_base`) exactly once, here, and never for 200.

    flyer-core keeps one per app (`app.state.flyer_envelope`) and answers every error, 413,
    431, 503 and readiness report through it; a plugin's routes raise `FlyerError` (core
    renders it) or call the app's renderer.
    """

    __slots__ = ("code_base",)

    def __init__(self, code_base: int = 0) -> None:
        if isinstance(code_base, bool) or not isinstance(code_base, int) or code_base < 0:
            raise ValueError(f"code_base={code_base!r}: expected an integer >= 0")
        self.code_base = code_base

    def code(self, code: int) -> int:
        """The body code for `code`: offset by `code_base` unless it is 200."""
        return code if code == 200 or not self.code_base else code + self.code_base

    def body(
        self, code: int, message: str = "", detail: str = "", data: Any = None, request_id: str = ""
    ) -> Dict[str, Any]:
        """The envelope dict; an empty `message` is the phrase of `code` (before the offset)."""
        if not message and is_known(code):
            message = phrase(code)
        return envelope(self.code(code), message, detail, data, request_id)

    def render(
        self, code: int, message: str = "", detail: str = "", data: Any = None, request_id: str = ""
    ) -> bytes:
        """The envelope as compact UTF-8 JSON (`data` must be JSON-able; NaN is refused)."""
        return json.dumps(
            self.body(code, message, detail, data, request_id),
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
        ).encode("utf-8")


renderer_var: ContextVar[Optional[EnvelopeRenderer]] = ContextVar(
    "flyer_envelope_renderer", default=None
)
"""The renderer of the app handling the current request; flyer-core's middleware sets it."""

_PLAIN = EnvelopeRenderer()


def current_renderer() -> EnvelopeRenderer:
    """The renderer of the app serving the current request, so a plugin's route builds the
    same envelope as core (`flyer_status_code_base` included); outside a flyer-core request,
    one with no offset."""
    return renderer_var.get() or _PLAIN
