"""`ToolFilter`: which of the API's operations become MCP tools (tags and operation ids)."""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional, Sequence, Tuple, Union

from flyer_mcp._settings import McpSettings, split_names

Names = Union[str, Iterable[str], None]


def _names(value: Names) -> Tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return split_names(value)
    return tuple(str(name).strip() for name in value if str(name).strip())


@dataclasses.dataclass(frozen=True)
class ToolFilter:
    """Include and exclude lists of tags and operation ids.

    With no include list every operation is in; with some, an operation is in when its id is
    in `include_operations` or one of its tags is in `include_tags`. Excludes always win.
    """

    include_tags: Tuple[str, ...] = ()
    exclude_tags: Tuple[str, ...] = ()
    include_operations: Tuple[str, ...] = ()
    exclude_operations: Tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: McpSettings) -> ToolFilter:
        return cls(
            settings.include_tags,
            settings.exclude_tags,
            settings.include_operations,
            settings.exclude_operations,
        )

    def replace(
        self,
        include_tags: Names = None,
        exclude_tags: Names = None,
        include_operations: Names = None,
        exclude_operations: Names = None,
    ) -> ToolFilter:
        """A copy with every argument that is not None in place of the list it names."""
        given = {
            "include_tags": include_tags,
            "exclude_tags": exclude_tags,
            "include_operations": include_operations,
            "exclude_operations": exclude_operations,
        }
        return dataclasses.replace(
            self, **{key: _names(value) for key, value in given.items() if value is not None}
        )

    def allows(
        self, operation_id: str, tags: Sequence[str], *, alias: Optional[str] = None
    ) -> bool:
        """Whether the operation (`alias`: the tool's name, when it differs) is a tool."""
        ids = {operation_id} if alias is None else {operation_id, alias}
        if ids & set(self.exclude_operations) or set(tags) & set(self.exclude_tags):
            return False
        if not self.include_operations and not self.include_tags:
            return True
        return bool(ids & set(self.include_operations) or set(tags) & set(self.include_tags))
