"""flyer-mcp's settings, read from `flyer_mcp_*` variables (the environment by default)."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

_FIELDS: Tuple[Tuple[str, str, str], ...] = (
    # (field, default as text, help)
    ("enabled", "1", "serve the API's operations as MCP tools at {flyer_base_url}/mcp"),
    ("include_tags", "", "comma-separated tags: only operations with one of them become tools"),
    ("exclude_tags", "", "comma-separated tags whose operations never become tools"),
    ("include_operations", "", "comma-separated operation ids: only these become tools"),
    ("exclude_operations", "", "comma-separated operation ids that never become tools"),
)
_SEPARATORS = re.compile(r"[,|;]")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


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
        """Settings from `flyer_mcp_*` variables (case-insensitive).

        Raises `ValueError` with one line naming the variable, its value and what is allowed.
        """
        source = os.environ if environ is None else environ
        values = {key.lower(): value for key, value in source.items()}
        found: Dict[str, Any] = {}
        for field, _, _ in _FIELDS:
            variable = f"flyer_mcp_{field}"
            if variable in values:
                found[field] = _parse(variable, field, values[variable])
        return cls(**found)


def settings_fields() -> List[Dict[str, Any]]:
    """The variables `McpSettings.from_env` reads, as `flyer config` lists them."""
    return [
        {"name": f"flyer_mcp_{field}", "default": default, "secret": False, "help": text}
        for field, default, text in _FIELDS
    ]


def split_names(text: str) -> Tuple[str, ...]:
    """`"a, b|c;;d"` -> `("a", "b", "c", "d")`: commas, and FastFlyer's `|` and `;`."""
    return tuple(name.strip() for name in _SEPARATORS.split(text) if name.strip())


def _parse(variable: str, field: str, raw: str) -> Any:
    if field == "enabled":
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(
            f"{variable}={raw!r}: expected a boolean (1/0, true/false, yes/no, on/off)"
        )
    return split_names(raw)
