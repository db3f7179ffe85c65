"""The response envelope as a plain dict or JSON bytes: no third-party package needed."""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any, Dict, Optional

from flyer_status._codes import LANGUAGES, is_known, phrase
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

    `lang` ("en" or "zh", `flyer_lang`) is the language of the messages it writes: a message
    left empty, or given as the code's English phrase, becomes the phrase in `lang`; any other
    message is the caller's own and stays as it is.
    """

    __slots__ = ("_localized", "code_base", "lang")

    def __init__(self, code_base: int = 0, lang: str = "en") -> None:
        if isinstance(code_base, bool) or not isinstance(code_base, int) or code_base < 0:
            raise ValueError(f"code_base={code_base!r}: expected an integer >= 0")
        if lang not in LANGUAGES:
            raise ValueError(f"lang={lang!r}: expected one of {', '.join(LANGUAGES)}")
        self.code_base = code_base
        self.lang = lang
        self._localized: Dict[str, EnvelopeRenderer] = {lang: self}

    def localized(self, lang: str) -> EnvelopeRenderer:
        """This renderer speaking `lang` ("en" or "zh"): same code base, made once per language."""
        found = self._localized.get(lang)
        if found is None:
            found = self._localized[lang] = EnvelopeRenderer(self.code_base, lang)
            found._localized = self._localized
        return found

    def code(self, code: int) -> int:
        """The body code for `code`: offset by `code_base` unless it is 200."""
        return code if code == 200 or not self.code_base else code + self.code_base

    def body(
        self, code: int, message: str = "", detail: str = "", data: Any = None, request_id: str = ""
    ) -> Dict[str, Any]:
        """The envelope dict; an empty `message`, or the English phrase of `code`, is the phrase
        of `code` (before the offset) in this renderer's language."""
        if is_known(code) and (not message or (self.lang != "en" and message == phrase(code))):
            message = phrase(code, self.lang)
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


def preferred_language(accept_language: str) -> Optional[str]:
    """The language of `LANGUAGES` an `Accept-Language` value prefers most, or None.

    `zh-CN,zh;q=0.9,en;q=0.8` is "zh"; `fr` is None; `q=0` refuses a language.
    """
    best: Optional[str] = None
    best_q = 0.0
    for part in accept_language.split(","):
        tag, _, params = part.partition(";")
        language = tag.strip().lower().split("-", 1)[0]
        if language not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = language, q
    return best


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
