"""A flyer app's API operations as MCP tools, at `{flyer_base_url}/mcp`.

Installing flyer-mcp is all it takes: flyer's app finds `McpPlugin` through the
`flyer.plugins` entry point and serves every business operation as a tool over the MCP
streamable HTTP transport (stateless, so any worker answers any request), behind the app's
auth. `config_mcp(app, include_tags=..., exclude_tags=..., include_operations=...,
exclude_operations=...)` is FastFlyer's call, kept: it sets the filters (`flyer_mcp_*`
settings otherwise). Serving MCP needs Python 3.10+; on 3.8 and 3.9 the plugin logs one line
and stays off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flyer_mcp.__about__ import __version__
from flyer_status import lazy

if TYPE_CHECKING:
    from flyer_mcp._config import config_mcp
    from flyer_mcp._filters import ToolFilter
    from flyer_mcp._plugin import McpPlugin
    from flyer_mcp._settings import McpSettings, settings_fields
    from flyer_mcp._support import SUPPORTED

# Every public name is imported when first read (PEP 562): the `flyer.plugins` entry point
# loads `flyer_mcp._plugin` and what that needs, not every module of the package.
_LAZY = {
    "config_mcp": "flyer_mcp._config",
    "ToolFilter": "flyer_mcp._filters",
    "McpPlugin": "flyer_mcp._plugin",
    "McpSettings": "flyer_mcp._settings",
    "settings_fields": "flyer_mcp._settings",
    "SUPPORTED": "flyer_mcp._support",
}

__all__ = [
    "SUPPORTED",
    "McpPlugin",
    "McpSettings",
    "ToolFilter",
    "__version__",
    "config_mcp",
    "settings_fields",
]


__getattr__, __dir__ = lazy.exports(__name__, _LAZY)
