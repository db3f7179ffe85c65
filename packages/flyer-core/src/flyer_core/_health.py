"""Liveness and readiness.

Liveness (`/health_check`, `/health_check/async`, `{base}/health_check`) does no I/O and is a
bare ASGI endpoint writing a prebuilt envelope, so probes cost almost nothing. Readiness
(`{base}/ready`) runs every plugin's `check()` concurrently under one deadline.
"""

from __future__ import annotations

from typing import Any, Dict

from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from flyer_core._auth import REALM, Utf8Basic
from flyer_core._handlers import envelope_response
from flyer_core._logging import logger
from flyer_core._plugins import check_plugins
from flyer_status import renderer_var, request_id_var

_ALIVE = b'{"code":200,"message":"OK","detail":"","data":{"status":"alive"},"request_id":"'
_START = {
    "type": "http.response.start",
    "status": 200,
}
_JSON = (b"content-type", b"application/json")


class Liveness:
    """ASGI endpoint: 200 and the envelope, nothing else."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Request ids are validated tokens ([A-Za-z0-9._~:+/=-]), safe inside a JSON string.
        body = _ALIVE + (request_id_var.get() or "").encode("ascii") + b'"}'
        await send(
            {
                **_START,
                "headers": [_JSON, (b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": body})


class ReadyData(BaseModel):
    """Readiness of each plugin that has a check."""

    checks: Dict[str, Dict[str, Any]] = Field(
        default_factory=dict,
        description='Per plugin: {"ok": bool}, and what the check reported for an '
        "authenticated caller",
    )


_BASIC = Utf8Basic(auto_error=False, realm=REALM)


async def _authenticated(request: Request) -> bool:
    """Whether the caller passed flyer's Basic auth (False when auth is off)."""
    auth = getattr(request.app.state, "flyer_auth", None)
    if auth is None:
        return False
    try:
        await auth(await _BASIC(request))
    except HTTPException:
        return False
    return True


async def ready(request: Request) -> Response:
    """Readiness: 200 when every plugin check passes, else 503 naming the failing ones.

    Only a caller authenticated by flyer's Basic auth sees what each check reported (URLs,
    hosts, driver errors); everyone else sees `{"ok": bool}` per check. A failing report is
    logged in full.
    """
    state = request.app.state
    ok, report = await check_plugins(state.flyer_plugins, state.flyer_settings.ready_timeout)
    if not ok:
        logger.warning("not ready", checks=report)
    if not await _authenticated(request):
        report = {name: {"ok": bool(result.get("ok"))} for name, result in report.items()}
    data = {"checks": report}
    renderer = renderer_var.get() or state.flyer_envelope
    if ok:
        return envelope_response(renderer, 200, 200, "OK", "", data)
    failing = sorted(name for name, result in report.items() if not result["ok"])
    return envelope_response(renderer, 503, 503, "", "not ready: " + ", ".join(failing), data)
