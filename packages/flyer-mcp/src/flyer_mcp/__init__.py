"""A flyer app's API operations as MCP tools, at `{flyer_base_url}/mcp`.

Installing flyer-mcp is all it takes: flyer's app finds `McpPlugin` through the
`flyer.plugins` entry point and serves every business operation as a tool over the MCP
streamable HTTP transport (stateless, so any worker answers any request), behind the app's
auth. `config_mcp(app, include_tags=..., exclude_tags=..., include_operations=...,
exclude_operations=...)` is FastFlyer's call, kept: it sets the filters (`flyer_mcp_*`
settings otherwise). Serving MCP needs Python 3.10+; on 3.8 and 3.9 the plugin logs one line
and stays off.
"""

from flyer_mcp.__about__ import __version__
from flyer_mcp._config import config_mcp
from flyer_mcp._filters import ToolFilter
from flyer_mcp._plugin import McpPlugin
from flyer_mcp._settings import McpSettings, settings_fields
from flyer_mcp._support import SUPPORTED

__all__ = [
    "SUPPORTED",
    "McpPlugin",
    "McpSettings",
    "ToolFilter",
    "__version__",
    "config_mcp",
    "settings_fields",
]
