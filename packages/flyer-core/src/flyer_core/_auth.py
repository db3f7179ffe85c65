"""HTTP Basic auth for APIs, docs and management routes (`flyer_auth_*`).

Credentials are read as RFC 7617 says with `charset="UTF-8"`: base64 of the UTF-8 bytes of
`user:password`, the user holding no `:`. Both sides are NFC-normalised, so a client that
sends a decomposed `ü` still matches, and compared in constant time.
"""

# No `from __future__ import annotations` here: FastAPI reads `Utf8Basic.__call__`'s
# annotations at run time, and older FastAPI cannot resolve a string `Request` on an instance
# (it took `request` for a query parameter).
import binascii
import hmac
import unicodedata
from base64 import b64decode
from typing import Any, Awaitable, Callable, Dict, Optional

from fastapi import Depends
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.exceptions import HTTPException
from starlette.requests import Request

from flyer_core._fastpath import SCOPE_CHECK
from flyer_core._settings import Settings

AuthDependency = Callable[..., Awaitable[None]]

REALM = "flyer"
CHALLENGE = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}


class Utf8Basic(HTTPBasic):
    """FastAPI's `HTTPBasic` (same OpenAPI scheme) reading UTF-8 credentials.

    `HTTPBasic` decodes them as ASCII and refuses the rest, which locked out every user
    with a non-ASCII name or password. Malformed credentials read as none (None).
    """

    def make_authenticate_headers(self) -> Dict[str, str]:
        return dict(CHALLENGE)

    async def __call__(self, request: Request) -> Optional[HTTPBasicCredentials]:  # type: ignore[override]
        return credentials_from(request.headers.get("Authorization"))


def credentials_from(authorization: Optional[str]) -> Optional[HTTPBasicCredentials]:
    """The credentials of an `Authorization: Basic ...` value; None for anything else."""
    scheme, _, param = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not param.strip():
        return None
    try:
        text = b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, colon, password = text.partition(":")
    if not colon:
        return None
    return HTTPBasicCredentials(username=user, password=password)


_SECURITY = Utf8Basic(auto_error=False, realm=REALM)
_CREDENTIALS = Depends(_SECURITY)


def _normalised(text: str) -> bytes:
    return unicodedata.normalize("NFC", text).encode("utf-8")


def basic_auth(settings: Settings) -> Optional[AuthDependency]:
    """A FastAPI dependency enforcing flyer's Basic auth, or None when auth is off.

    User and password are compared in constant time; a failure is a 401 with
    `WWW-Authenticate`, in the envelope like every error.
    """
    if not settings.auth_enable:
        return None
    user = _normalised(settings.auth_user)
    password = _normalised(settings.auth_pass.get_secret_value())

    def verify(credentials: Optional[HTTPBasicCredentials]) -> None:
        if credentials is not None:
            # Both comparisons always run: the time taken says nothing about which failed.
            user_ok = hmac.compare_digest(_normalised(credentials.username), user)
            pass_ok = hmac.compare_digest(_normalised(credentials.password), password)
            if user_ok & pass_ok:
                return
        raise HTTPException(401, "valid credentials required", headers=dict(CHALLENGE))

    async def flyer_auth(credentials: Optional[HTTPBasicCredentials] = _CREDENTIALS) -> None:
        verify(credentials)

    def check(scope: Any) -> None:
        # The same check from the raw request, for compiled routes (see _fastpath): the
        # first Authorization header, as `request.headers.get` finds it.
        for name, value in scope["headers"]:
            if name == b"authorization":
                verify(credentials_from(value.decode("latin-1")))
                return
        verify(None)

    setattr(flyer_auth, SCOPE_CHECK, check)
    return flyer_auth


def auth_dependencies(auth: Optional[AuthDependency]) -> Any:
    """`dependencies=[...]` for a route or router that auth protects (empty when off)."""
    return [Depends(auth)] if auth is not None else []
