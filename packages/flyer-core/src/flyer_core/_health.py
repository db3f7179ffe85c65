"""Liveness and readiness.

Liveness (`/health_check`, `/health_check/async`, `{base}/health_check`) does no I/O and is a
bare ASGI endpoint writing a prebuilt envelope, so probes cost almost nothing. Readiness
(`{base}/ready`) runs every plugin's `check()` concurrently under one deadline.
"""

from __future__ import annotations

from typing import Any, Dict

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from flyer_core._plugins import check_plugins
from flyer_status import envelope, request_id_var

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
        default_factory=dict, description='Per plugin: {"ok": bool, ...}'
    )


async def ready(request: Request) -> JSONResponse:
    """Readiness: 200 when every plugin check passes, else 503 naming the failing ones."""
    state = request.app.state
    ok, report = await check_plugins(state.flyer_plugins, state.flyer_settings.ready_timeout)
    data = {"checks": report}
    if ok:
        return JSONResponse(envelope(200, "OK", "", data))
    failing = sorted(name for name, result in report.items() if not result["ok"])
    base = state.flyer_settings.status_code_base
    return JSONResponse(
        envelope(503 + base, "Service Unavailable", "not ready: " + ", ".join(failing), data),
        status_code=503,
    )
