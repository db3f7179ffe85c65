"""Keeping secrets out of logs and errors: URLs without credentials, masked headers and params."""

from __future__ import annotations

from typing import TYPE_CHECKING, AbstractSet, Dict, FrozenSet, Iterable
from urllib.parse import parse_qsl, urlencode

if TYPE_CHECKING:
    import httpx

#: Headers whose values are never logged, whatever the client is configured with.
SENSITIVE_HEADERS: FrozenSet[str] = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie"}
)
#: Query parameters whose values are masked in logged URLs unless configured otherwise.
SENSITIVE_PARAMS: FrozenSet[str] = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "client_secret",
        "password",
        "refresh_token",
        "secret",
        "signature",
        "token",
    }
)
MASK = "***"


def lower_names(names: Iterable[str], what: str) -> FrozenSet[str]:
    """Names lower-cased for case-insensitive matching; a bare string is a caller's mistake."""
    if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{what}={names!r}: expected a collection of non-empty names")
    return frozenset(n.lower() for n in names)


def redact_url(url: httpx.URL, sensitive_params: AbstractSet[str], *, query: bool = True) -> str:
    """`url` without user info or fragment, with the values of sensitive parameters masked
    (or with no query string at all when `query` is false)."""
    path = url.raw_path.decode("ascii")
    if not query:
        path = path.partition("?")[0]
    elif b"?" in url.raw_path and sensitive_params:
        path, _, qs = path.partition("?")
        pairs = parse_qsl(qs, keep_blank_values=True)
        if any(name.lower() in sensitive_params for name, _ in pairs):
            masked = [(n, MASK if n.lower() in sensitive_params else v) for n, v in pairs]
            qs = urlencode(masked, safe="*")
        path = f"{path}?{qs}"
    return f"{url.scheme}://{url.netloc.decode('ascii')}{path}"


def redact_headers(headers: httpx.Headers, sensitive: AbstractSet[str]) -> Dict[str, str]:
    """Headers as a plain dict, values of sensitive ones masked (repeated names joined)."""
    shown: Dict[str, str] = {}
    for name, value in headers.multi_items():
        key = name.lower()
        value = MASK if key in sensitive else value
        shown[key] = f"{shown[key]}, {value}" if key in shown else value
    return shown
