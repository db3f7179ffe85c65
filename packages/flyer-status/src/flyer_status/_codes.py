"""Look-ups over the code table: phrases, descriptions, and the HTTP status a code travels with."""

from __future__ import annotations

from typing import Dict

from flyer_status._table import CODES, CodeInfo

_BY_CODE: Dict[int, CodeInfo] = {info.code: info for info in CODES}
LANGUAGES = ("en", "zh")
"""The languages flyer writes its phrases and messages in."""

# Third-party codes travel with a real gateway status: the body says which upstream failure.
_THIRD_PARTY_HTTP_STATUS: Dict[int, int] = {
    600: 502,
    601: 502,
    602: 502,
    603: 503,
    604: 504,
    605: 502,
    606: 502,
}


def _info(code: int, lang: str) -> CodeInfo:
    if lang not in LANGUAGES:
        raise ValueError(f"lang={lang!r}: expected one of {', '.join(LANGUAGES)}")
    try:
        return _BY_CODE[int(code)]
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"code={code!r}: not a known status code (HTTP 100-511, third-party 600-606, "
            "WebSocket 1000-1015)"
        ) from None


def phrase(code: int, lang: str = "en") -> str:
    """The code's short phrase: `phrase(404)` is "Not Found", `phrase(404, "zh")` "资源未找到"."""
    info = _info(code, lang)
    return info.phrase if lang == "en" else info.zh


def describe(code: int, lang: str = "en") -> str:
    """A one-line description of what the code means, in English or Chinese."""
    info = _info(code, lang)
    return info.description if lang == "en" else info.zh


def code_name(code: int) -> str:
    """The constant's name in `flyer_status.status`, e.g. "HTTP_404_NOT_FOUND"."""
    return _info(code, "en").name


def is_known(code: int) -> bool:
    """Whether flyer has a constant for this code."""
    return code in _BY_CODE


def http_status_for(code: int) -> int:
    """The HTTP status a body code travels with.

    100-599 travel as themselves; third-party codes 600-699 as 502, 503 (603) or 504 (604);
    anything else is a server-side mistake and travels as 500.
    """
    if 100 <= code <= 599:
        return code
    if 600 <= code <= 699:
        return _THIRD_PARTY_HTTP_STATUS.get(code, 502)
    return 500
