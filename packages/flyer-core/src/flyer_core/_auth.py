"""HTTP Basic auth for APIs, docs and management routes (`flyer_auth_*`)."""

from __future__ import annotations

import secrets
from typing import Any, Awaitable, Callable, Optional

from fastapi import Depends
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.exceptions import HTTPException

from flyer_core._settings import Settings

AuthDependency = Callable[..., Awaitable[None]]

_SECURITY = HTTPBasic(auto_error=False, realm="flyer")
_CREDENTIALS = Depends(_SECURITY)


def basic_auth(settings: Settings) -> Optional[AuthDependency]:
    """A FastAPI dependency enforcing flyer's Basic auth, or None when auth is off.

    User and password are compared in constant time; a failure is a 401 with
    `WWW-Authenticate`, in the envelope like every error.
    """
    if not settings.auth_enable:
        return None
    user = settings.auth_user.encode("utf-8")
    password = settings.auth_pass.get_secret_value().encode("utf-8")

    async def flyer_auth(credentials: Optional[HTTPBasicCredentials] = _CREDENTIALS) -> None:
        if credentials is not None:
            user_ok = secrets.compare_digest(credentials.username.encode("utf-8"), user)
            pass_ok = secrets.compare_digest(credentials.password.encode("utf-8"), password)
            if user_ok and pass_ok:
                return
        raise HTTPException(
            401, "valid credentials required", headers={"WWW-Authenticate": 'Basic realm="flyer"'}
        )

    return flyer_auth


def auth_dependencies(auth: Optional[AuthDependency]) -> Any:
    """`dependencies=[...]` for a route or router that auth protects (empty when off)."""
    return [Depends(auth)] if auth is not None else []
