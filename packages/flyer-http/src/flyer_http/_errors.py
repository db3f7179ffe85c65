"""httpx failures as flyer-status 60x errors that stay catchable as the httpx exception.

A timeout becomes a class deriving from both `ThirdPartyTimeoutError` and the exact httpx
class raised (`httpx.ReadTimeout`...), so `except httpx.ReadTimeout`, `except
httpx.TimeoutException` and `except ThirdPartyTimeoutError` all catch it, flyer-core renders
it as the 604 envelope, and the original stays attached as `__cause__`.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type

import httpx

from flyer_http._redact import redact_url
from flyer_status import (
    FlyerError,
    ThirdPartyDataError,
    ThirdPartyError,
    ThirdPartyNetworkError,
    ThirdPartyRetryError,
    ThirdPartyStatusError,
    ThirdPartyTimeoutError,
    ThirdPartyUnavailableError,
)

#: httpx exception family -> flyer-status error, first match wins.
_FLYER_FOR: Tuple[Tuple[Type[httpx.HTTPError], Type[ThirdPartyError]], ...] = (
    (httpx.TimeoutException, ThirdPartyTimeoutError),  # 604: connect/read/write/pool timeouts
    (httpx.ConnectError, ThirdPartyUnavailableError),  # 603: refused, unreachable, DNS failure
    (httpx.NetworkError, ThirdPartyNetworkError),  # 605: read/write/close errors
    (httpx.ProtocolError, ThirdPartyNetworkError),  # 605: connection closed mid-response...
    (httpx.ProxyError, ThirdPartyNetworkError),  # 605
    (httpx.DecodingError, ThirdPartyDataError),  # 602: undecodable body
    (httpx.HTTPStatusError, ThirdPartyStatusError),  # 601
    (httpx.HTTPError, ThirdPartyError),  # 600: anything else (redirect loops, bad scheme...)
)


class _Seam(Exception):
    """Sits between FlyerError and the httpx class in the mixed classes' MRO.

    FlyerError's constructor calls `super().__init__(message)`; without this seam that call
    would reach httpx constructors that require keyword arguments (`HTTPStatusError` needs
    `request=` and `response=`). The httpx attributes are set explicitly instead.
    """

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)


def _reduce(self: FlyerError) -> Tuple[Any, ...]:
    flyer_bases = tuple(b for b in type(self).__bases__ if issubclass(b, FlyerError))
    httpx_base = type(self).__bases__[-1]
    return (_rebuild, (flyer_bases, httpx_base, self.args), self.__dict__.copy())


def _rebuild(
    flyer_bases: Tuple[Type[ThirdPartyError], ...],
    httpx_base: Type[httpx.HTTPError],
    args: Tuple[Any, ...],
) -> FlyerError:
    cls = mixed_class(flyer_bases, httpx_base)
    return cls.__new__(cls, *args)


_MIXED: Dict[Tuple[type, ...], Type[ThirdPartyError]] = {}


def mixed_class(
    flyer_bases: Tuple[Type[ThirdPartyError], ...], httpx_base: Type[httpx.HTTPError]
) -> Type[ThirdPartyError]:
    """The (cached) class deriving from `flyer_bases` and `httpx_base`, e.g.
    `ThirdPartyTimeoutError[ReadTimeout]`; its `code` is the first flyer base's."""
    key = (*flyer_bases, httpx_base)
    cls = _MIXED.get(key)
    if cls is None:
        name = f"{flyer_bases[0].__name__}[{httpx_base.__name__}]"
        namespace = {"__module__": __name__, "__qualname__": name, "__reduce__": _reduce}
        cls = _MIXED.setdefault(key, type(name, (*flyer_bases, _Seam, httpx_base), namespace))
    return cls


def flyer_class_for(exc: httpx.HTTPError) -> Type[ThirdPartyError]:
    """The 60x class matching an httpx exception."""
    for httpx_cls, flyer_cls in _FLYER_FOR:
        if isinstance(exc, httpx_cls):
            return flyer_cls
    return ThirdPartyError  # pragma: no cover - httpx.HTTPError matches above


def _request_of(exc: httpx.HTTPError) -> Optional[httpx.Request]:
    try:
        return exc.request
    except RuntimeError:  # httpx raises when no request was attached
        return None


def as_flyer_error(
    exc: BaseException, *, method: str, url: str, attempts: int, exhausted: bool
) -> BaseException:
    """`exc` as a 60x error (606 first when retries were exhausted); non-httpx errors as is."""
    if not isinstance(exc, httpx.HTTPError) or isinstance(exc, FlyerError):
        return exc
    matching = flyer_class_for(exc)
    bases = (ThirdPartyRetryError, matching) if exhausted else (matching,)
    cls = mixed_class(bases, type(exc))
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    err = cls(f"{method} {url} failed{tries}: {type(exc).__name__}", str(exc))
    err.attempts = attempts  # type: ignore[attr-defined]
    request = _request_of(exc)
    if request is not None:
        err.request = request  # type: ignore[attr-defined]
    return err


RETRIES_EXHAUSTED = "flyer_http.retries_exhausted"


def raise_for_status(response: httpx.Response) -> httpx.Response:
    """Raise the 601 error for a 4xx/5xx response (606 once its retries ran out); else return it.

    The error is also an `httpx.HTTPStatusError` with `.request` and `.response`, so code
    written for `response.raise_for_status()` keeps working.
    """
    status = response.status_code
    if not 400 <= status <= 599:
        return response
    try:
        request: Optional[httpx.Request] = response.request
    except RuntimeError:
        request = None
    exhausted = bool(response.extensions.get(RETRIES_EXHAUSTED))
    bases = (ThirdPartyRetryError, ThirdPartyStatusError) if exhausted else (ThirdPartyStatusError,)
    cls = mixed_class(bases, httpx.HTTPStatusError)
    where = (
        f" from {request.method} {redact_url(request.url, frozenset(), query=False)}"
        if request
        else ""
    )
    err = cls(f"{status} {response.reason_phrase}{where}")
    err.request = request  # type: ignore[attr-defined]
    err.response = response  # type: ignore[attr-defined]
    raise err
