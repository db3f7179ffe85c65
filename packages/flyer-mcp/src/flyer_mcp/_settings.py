"""flyer-mcp's settings, read from `flyer_mcp_*` variables (the environment by default)."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Tuple

from flyer_status import settings

_HELP: Tuple[Tuple[str, str], ...] = (
    # (field, help); defaults come from McpSettings
    ("enabled", "serve the API's operations as MCP tools at {flyer_base_url}/mcp"),
    ("include_tags", "comma-separated tags: only operations with one of them become tools"),
    ("exclude_tags", "comma-separated tags whose operations never become tools"),
    ("include_operations", "comma-separated operation ids: only these become tools"),
    ("exclude_operations", "comma-separated operation ids that never become tools"),
)
# Commas, and FastFlyer's `|` and `;`.
_SEPARATORS = ",|;"


@dataclasses.dataclass(frozen=True)
class McpSettings:
    """What `McpSettings.from_env()` reads from `flyer_mcp_*`; unset ones keep these defaults."""

    enabled: bool = True
    include_tags: Tuple[str, ...] = ()
    exclude_tags: Tuple[str, ...] = ()
    include_operations: Tuple[str, ...] = ()
    exclude_operations: Tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> McpSettings:
        """Settings from `flyer_mcp_*` variables (case-insensitive); `environ` None reads the
        process environment over `./.env`, as an app would.

        Raises `ValueError` with one line naming the variable, its value and what is allowed.
        """
        env = settings.environment(environ)
        return cls(
            enabled=env.boolean("flyer_mcp_enabled", cls.enabled),
            include_tags=env.names("flyer_mcp_include_tags", _SEPARATORS),
            exclude_tags=env.names("flyer_mcp_exclude_tags", _SEPARATORS),
            include_operations=env.names("flyer_mcp_include_operations", _SEPARATORS),
            exclude_operations=env.names("flyer_mcp_exclude_operations", _SEPARATORS),
        )


def settings_fields() -> List[Dict[str, Any]]:
    """The variables `McpSettings.from_env` reads, as `flyer config` lists them."""
    defaults = McpSettings()
    return [
        {
            "name": f"flyer_mcp_{field}",
            "default": settings.default_text(getattr(defaults, field)),
            "secret": False,
            "help": text,
        }
        for field, text in _HELP
    ]


def split_names(text: str) -> Tuple[str, ...]:
    """`"a, b|c;;d"` -> `("a", "b", "c", "d")`: commas, and FastFlyer's `|` and `;`."""
    return settings.parse_names(text, _SEPARATORS)
