"""Whether this Python can serve MCP: the SDK needs Python 3.10 or newer."""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger("flyer.mcp")

SUPPORTED = sys.version_info >= (3, 10)
UNSUPPORTED_REASON = (
    f"MCP needs Python 3.10+ (this is {sys.version_info[0]}.{sys.version_info[1]}): "
    "the MCP SDK does not install here, so {base}/mcp is not served"
)


def log_unsupported(base: str) -> None:
    """The one line an app logs when it cannot serve MCP on this Python."""
    logger.warning(UNSUPPORTED_REASON.replace("{base}", base))
