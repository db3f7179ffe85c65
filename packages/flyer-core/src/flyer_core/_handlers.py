"""Exception handlers: every error flyer answers is the envelope with the right HTTP status.

`HTTPException` (404, 405, 401, 413 ... with their headers), validation errors (each bad
field listed), `FlyerError` and its 60x subclasses (502/503/504), and anything else (500,
a generic message; the traceback goes to the log, once).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Union

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from flyer_core._logging import logger
from flyer_status import EnvelopeRenderer, FlyerError, is_known, phrase, renderer_var
from flyer_status.schemas import ErrorResponse

ERROR_RESPONSES: Dict[Union[int, str], Dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Validation error: `data` lists each bad field"},
    500: {"model": ErrorResponse, "description": "Internal error (details are in the log)"},
}
"""OpenAPI `responses` every flyer route documents: the error envelope."""

AUTH_RESPONSES: Dict[Union[int, str], Dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or wrong HTTP Basic credentials"},
}


CLIENT_CLOSED_REQUEST = 499
"""The status logged when the client hangs up before its request body is complete."""


def _phrase(status: int) -> str:
    return phrase(status) if is_known(status) else ""


def envelope_response(
    renderer: EnvelopeRenderer,
    status: int,
    code: int,
    message: str = "",
    detail: str = "",
    data: Any = None,
    headers: Optional[Mapping[str, str]] = None,
) -> Response:
    """The envelope from the app's renderer as a response with HTTP `status` (bodyless
    statuses get no body)."""
    if status in (204, 304) or status < 200:
        return Response(status_code=status, headers=dict(headers) if headers else None)
    return Response(
        renderer.render(code, message, detail, jsonable_encoder(data)),
        status_code=status,
        headers=dict(headers) if headers else None,
        media_type="application/json",
    )


class ErrorHandlers:
    """The handlers, rendering through the app's envelope renderer."""

    def __init__(self, renderer: Optional[EnvelopeRenderer] = None) -> None:
        self.renderer = renderer if renderer is not None else EnvelopeRenderer()

    def respond(
        self,
        status: int,
        code: int,
        message: str,
        detail: str = "",
        data: Any = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Response:
        # The request's renderer when the middleware chose one (its language), else the app's.
        renderer = renderer_var.get() or self.renderer
        return envelope_response(renderer, status, code, message, detail, data, headers)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        message = _phrase(status)
        raw: Any = exc.detail  # FastAPI's HTTPException takes any JSON-able detail
        if isinstance(raw, str):
            detail, data = ("" if raw == message else raw), None
        else:
            detail, data = "", raw
        return self.respond(status, status, message, detail, data, exc.headers)

    async def validation_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        fields: List[Dict[str, Any]] = []
        for error in exc.errors():
            loc = [str(part) for part in error.get("loc", ())]
            fields.append(
                {"loc": loc, "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
            )
        detail = "; ".join(f"{'.'.join(f['loc'])}: {f['msg']}" for f in fields)
        return self.respond(422, 422, _phrase(422), detail, fields)

    async def flyer_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FlyerError)
        return self.respond(exc.http_status, exc.code, exc.message, exc.detail, exc.data)

    async def client_disconnect(self, request: Request, exc: Exception) -> Response:
        # The client hung up before its body arrived: not a server error, and no traceback
        # (a client must not be able to write tracebacks into the log at will). 499 is the
        # status proxies log for this; nobody is left to read the response.
        logger.info("client disconnected", method=request.method, path=request.url.path)
        return self.respond(CLIENT_CLOSED_REQUEST, CLIENT_CLOSED_REQUEST, "Client Closed Request")

    async def unhandled(self, request: Request, exc: Exception) -> Response:
        logger.error(
            "unhandled error",
            method=request.method,
            path=request.url.path,
            error=type(exc).__name__,
            exc_info=exc,
        )
        return self.respond(500, 500, _phrase(500))

    def install(self, app: FastAPI) -> None:
        app.add_exception_handler(HTTPException, self.http_error)
        app.add_exception_handler(RequestValidationError, self.validation_error)
        app.add_exception_handler(FlyerError, self.flyer_error)
        app.add_exception_handler(ClientDisconnect, self.client_disconnect)
        app.add_exception_handler(Exception, self.unhandled)
