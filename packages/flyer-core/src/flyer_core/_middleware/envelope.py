"""The envelope renderer of a request, where handlers and plugins' routes look for it."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from flyer_status import EnvelopeRenderer, preferred_language, renderer_var


def negotiated(renderer: EnvelopeRenderer, headers: Any) -> EnvelopeRenderer:
    """`renderer` in the language the request's Accept-Language prefers (its own otherwise)."""
    for name, value in headers:
        if name == b"accept-language":
            language = preferred_language(value.decode("latin-1"))
            return renderer if language is None else renderer.localized(language)
    return renderer


def is_plain(renderer: EnvelopeRenderer) -> bool:
    """True for the renderer everyone gets without `renderer_var` set (no code offset,
    English)."""
    return not renderer.code_base and renderer.lang == "en"


class EnvelopeMiddleware:
    """Sets `flyer_status.renderer_var` to the app's renderer, in the request's language when
    `negotiate_language` is on. Needed only when the renderer differs from the plain one
    (a code offset, another language, negotiation): without it the layer is left out."""

    def __init__(
        self, app: ASGIApp, renderer: EnvelopeRenderer, negotiate_language: bool = False
    ) -> None:
        self.app = app
        self.renderer = renderer
        self.negotiate_language = negotiate_language
        self.publish = not is_plain(renderer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        renderer = self.renderer
        if self.negotiate_language:
            renderer = negotiated(renderer, scope["headers"])
        if not self.publish and renderer is self.renderer:
            await self.app(scope, receive, send)
            return
        token = renderer_var.set(renderer)
        try:
            await self.app(scope, receive, send)
        finally:
            renderer_var.reset(token)
