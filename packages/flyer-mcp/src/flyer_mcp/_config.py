"""`config_mcp(app, ...)`: FastFlyer's call, kept; flyer's plugin makes it optional."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, Optional

from fastapi import FastAPI

from flyer_mcp._filters import Names, ToolFilter
from flyer_mcp._mount import app_base, app_environ, mount
from flyer_mcp._settings import McpSettings
from flyer_mcp._support import SUPPORTED, log_unsupported

if TYPE_CHECKING:
    from flyer_mcp._server import McpEndpoint

logger = logging.getLogger("flyer.mcp")


def config_mcp(
    app: FastAPI,
    include_tags: Names = None,
    exclude_tags: Names = None,
    include_operations: Names = None,
    exclude_operations: Names = None,
    *,
    mount_path: Optional[str] = None,
    name: Optional[str] = None,
    description: Optional[str] = None,
) -> Optional[McpEndpoint]:
    """Serve `app`'s operations as MCP tools at `{flyer_base_url}/mcp`; returns the endpoint.

    With flyer-mcp installed, flyer's app already serves them: this call then only sets what
    it is given: the filters (a list or a comma-separated string each; None keeps the
    `flyer_mcp_*` setting), `mount_path` (FastFlyer's: the path under `flyer_base_url`),
    and the server's `name` and `description` (its instructions) that clients see. On an app
    without the plugin it mounts the endpoint and starts it with the app's lifespan. Returns
    None, with a log line, when `flyer_mcp_enabled` is off or on Python < 3.10.
    """
    existing: Optional[McpEndpoint] = getattr(app.state, "flyer_mcp", None)
    if existing is not None:
        existing.tool_filter = existing.tool_filter.replace(
            include_tags, exclude_tags, include_operations, exclude_operations
        )
        _describe(existing, name, description)
        if mount_path is not None:
            path = existing.base + "/" + mount_path.strip("/")
            if path != existing.path:
                existing.path = path
                mount(app, existing)
        return existing
    environ = app_environ(app)
    settings = McpSettings.from_env(environ)
    base = app_base(app, environ)
    if not settings.enabled:
        logger.info("mcp off: flyer_mcp_enabled is false", extra={"path": f"{base}/mcp"})
        return None
    if not SUPPORTED:
        log_unsupported(base)
        return None
    from flyer_mcp._server import McpEndpoint

    hidden = [
        (method, route.path)
        for route in getattr(app, "flyer_routes", ())
        for method in (getattr(route, "methods", None) or ())
    ]
    endpoint = McpEndpoint(
        app,
        base=base,
        tool_filter=ToolFilter.from_settings(settings).replace(
            include_tags, exclude_tags, include_operations, exclude_operations
        ),
        hidden=hidden,
        mount_path=mount_path or "/mcp",
    )
    _describe(endpoint, name, description)
    mount(app, endpoint)
    _start_with_lifespan(app, endpoint)
    return endpoint


def _describe(endpoint: McpEndpoint, name: Optional[str], description: Optional[str]) -> None:
    if name:
        endpoint.name = name
    if description:
        endpoint.instructions = description


def _start_with_lifespan(app: FastAPI, endpoint: McpEndpoint) -> None:
    """Run `endpoint` while the app's lifespan runs (inside the app's own lifespan)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with inner(application) as state:
            await endpoint.start()
            try:
                yield state
            finally:
                await endpoint.stop()

    app.router.lifespan_context = lifespan
