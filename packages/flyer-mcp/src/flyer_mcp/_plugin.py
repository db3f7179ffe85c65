"""`McpPlugin`: how flyer's app serves its operations as MCP tools (entry point `mcp`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from flyer_mcp._mount import app_base, app_environ, mount, operation_keys
from flyer_mcp._settings import McpSettings, settings_fields
from flyer_mcp._support import SUPPORTED, log_unsupported

if TYPE_CHECKING:
    from flyer_mcp._filters import ToolFilter
    from flyer_mcp._server import McpEndpoint

logger = logging.getLogger("flyer.mcp")


class McpPlugin:
    """flyer-core's plugin for MCP, found through the `flyer.plugins` entry point.

    - `setup`: reads `flyer_mcp_*`; when enabled, mounts `{base}/mcp` behind the app's auth.
      Every route the app has at that moment (flyer's own and other plugins') is never a tool:
      this plugin sets up last, and the business routers are mounted after it.
    - `startup` / `shutdown`: start and stop the MCP SDK's session manager.
    - `check`: ready when the endpoint runs (or MCP is off); reports the tool count.
    On Python < 3.10 (no MCP SDK there) it logs one line and does nothing else.
    """

    name = "mcp"
    order = 900

    def __init__(self) -> None:
        self.endpoint: Optional[McpEndpoint] = None

    def validate_settings(self, settings: Any) -> None:
        """Check `flyer_mcp_*` (one `ValueError` line when bad): flyer calls this before binding."""
        McpSettings.from_env(getattr(settings, "environ", None))

    def setup(self, app: Any, settings: Any) -> None:
        environ = app_environ(app)
        if environ is None:
            environ = getattr(settings, "environ", None)
        own = McpSettings.from_env(environ)
        base = str(getattr(settings, "base_url", None) or app_base(app, environ))
        if not own.enabled:
            logger.info("mcp off: flyer_mcp_enabled is false", extra={"path": f"{base}/mcp"})
            return
        if not SUPPORTED:
            log_unsupported(base)
            return
        from flyer_mcp._server import McpEndpoint

        def tool_filter() -> ToolFilter:
            from flyer_mcp._filters import ToolFilter

            return ToolFilter.from_settings(own)

        # Every route mounted so far (flyer's and other plugins') is never a tool; which
        # operations they are, and the filter, are made with the tools, on first use, not
        # while the app is built.
        mounted = list(app.routes)
        self.endpoint = McpEndpoint(
            app,
            base=base,
            tool_filter=tool_filter,
            hidden=lambda: operation_keys(app, mounted),
        )
        mount(app, self.endpoint)

    async def startup(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.start()

    async def shutdown(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.stop()

    async def check(self) -> Dict[str, Any]:
        """Readiness: `{"ok": bool, "enabled": bool, "tools"?: int}`."""
        if self.endpoint is None:
            return {"ok": True, "enabled": False}
        return {
            "ok": self.endpoint.running,
            "enabled": True,
            "tools": len(self.endpoint.tools()),
        }

    def settings_fields(self) -> List[Dict[str, Any]]:
        """The `flyer_mcp_*` variables, for `flyer config`."""
        return settings_fields()
