"""flyer's error hierarchy: raise one anywhere and the client gets it in the envelope."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from flyer_status._codes import http_status_for, is_known, phrase
from flyer_status._envelope import envelope


class FlyerError(Exception):
    """An error with a body code, a message, a detail, optional data and an HTTP status.

    `FlyerError(404, "no such item", detail="item 7")` travels as HTTP 404; third-party codes
    (600-606) travel as 502/503/504 (see `http_status_for`) unless `http_status` is given.
    """

    code: int = 500
    http_status: int = 500

    def __init__(
        self,
        code: int,
        message: str = "",
        detail: str = "",
        data: Any = None,
        *,
        http_status: Optional[int] = None,
    ) -> None:
        if isinstance(code, bool) or not isinstance(code, int):
            raise TypeError(f"code={code!r}: expected an int status code")
        self.code = code
        self.message = message or (phrase(code) if is_known(code) else "")
        self.detail = detail
        self.data = data
        self.http_status = http_status if http_status is not None else http_status_for(code)
        if not 100 <= self.http_status <= 599:
            raise ValueError(f"http_status={self.http_status!r}: expected an HTTP status 100-599")
        super().__init__(self.message)

    def __str__(self) -> str:
        text = f"{self.code} {self.message}"
        return f"{text}: {self.detail}" if self.detail else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"detail={self.detail!r}, http_status={self.http_status!r})"
        )

    def _init_args(self) -> Tuple[Any, ...]:
        return (self.code, self.message, self.detail, self.data)

    def __reduce__(self) -> Tuple[Any, ...]:
        # Exceptions pickle as cls(*self.args); rebuild from the real fields instead.
        return (type(self), self._init_args(), self.__dict__.copy())

    def to_dict(self, request_id: str = "") -> Dict[str, Any]:
        """This error as the envelope dict (the current request id when none is given)."""
        return envelope(self.code, self.message, self.detail, self.data, request_id)


class ThirdPartyError(FlyerError):
    """600: a call to a third-party service failed (travels as HTTP 502)."""

    code = 600
    http_status = 502

    def __init__(
        self,
        message: str = "",
        detail: str = "",
        data: Any = None,
        *,
        http_status: Optional[int] = None,
    ) -> None:
        super().__init__(type(self).code, message, detail, data, http_status=http_status)

    def _init_args(self) -> Tuple[Any, ...]:
        return (self.message, self.detail, self.data)


class ThirdPartyStatusError(ThirdPartyError):
    """601: a third-party service answered with an error status (HTTP 502)."""

    code = 601
    http_status = 502


class ThirdPartyDataError(ThirdPartyError):
    """602: a third-party service answered with unusable data (HTTP 502)."""

    code = 602
    http_status = 502


class ThirdPartyUnavailableError(ThirdPartyError):
    """603: a third-party service is unavailable (HTTP 503)."""

    code = 603
    http_status = 503


class ThirdPartyTimeoutError(ThirdPartyError):
    """604: a call to a third-party service timed out (HTTP 504)."""

    code = 604
    http_status = 504


class ThirdPartyNetworkError(ThirdPartyError):
    """605: a network error kept the call from reaching the service (HTTP 502)."""

    code = 605
    http_status = 502


class ThirdPartyRetryError(ThirdPartyError):
    """606: the service kept failing through every retry (HTTP 502)."""

    code = 606
    http_status = 502


class SettingsError(ValueError):
    """A setting has a bad value, or `.env` a bad line: `str(err)` is one line naming the
    variable (or file and line) and what is allowed, never a secret's value."""
