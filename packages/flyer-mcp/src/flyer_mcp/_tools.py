"""`ApiTool`: one API operation read from the app's OpenAPI document, as an MCP tool.

The tool's name is the operation id, its description the summary and description, its input
schema the path, query, header and cookie parameters plus the request body: a JSON object
body's fields sit beside the parameters (as `body` when they would clash, or for any other
body). `$ref`s point into the schema's own `$defs`.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
from typing import Any, Collection, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from flyer_mcp._filters import ToolFilter
from flyer_mcp._mount import OPENAPI_METHODS

logger = logging.getLogger("flyer.mcp")

_COMPONENT_REF = "#/components/schemas/"
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]")
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"


@dataclasses.dataclass(frozen=True)
class Argument:
    """Where one tool argument goes in the HTTP request: `location` is path, query, header,
    cookie, `field` (a field of the JSON or form body) or `body` (the whole body)."""

    key: str
    name: str
    location: str


@dataclasses.dataclass(frozen=True)
class ApiTool:
    """One operation as a tool: what `tools/list` shows and how `tools/call` runs it."""

    name: str
    operation_id: str
    method: str
    path: str
    tags: Tuple[str, ...]
    description: str
    input_schema: Dict[str, Any]
    arguments: Tuple[Argument, ...]
    body_type: Optional[str] = None

    @property
    def read_only(self) -> bool:
        return self.method in ("GET", "HEAD", "OPTIONS")


def _rewrite_refs(node: Any, found: Set[str]) -> Any:
    """A copy of `node` with component `$ref`s pointing at `#/$defs/`, their names in `found`."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_COMPONENT_REF):
                name = value[len(_COMPONENT_REF) :]
                found.add(name)
                out[key] = "#/$defs/" + name
            else:
                out[key] = _rewrite_refs(value, found)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, found) for item in node]
    return node


def _defs(names: Set[str], components: Mapping[str, Any]) -> Dict[str, Any]:
    """Every component `names` reach, transitively, with rewritten `$ref`s."""
    defs: Dict[str, Any] = {}
    todo = sorted(names)
    while todo:
        name = todo.pop()
        if name in defs or name not in components:
            continue
        more: Set[str] = set()
        defs[name] = _rewrite_refs(components[name], more)
        todo.extend(sorted(more - set(defs)))
    return defs


def _resolve(schema: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema a top-level `$ref` names (one level), else `schema` itself."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_COMPONENT_REF):
        target = components.get(ref[len(_COMPONENT_REF) :])
        if isinstance(target, Mapping):
            return target
    return schema


def _description(operation: Mapping[str, Any], method: str, path: str) -> str:
    parts = [
        str(operation[key]).strip() for key in ("summary", "description") if operation.get(key)
    ]
    parts = [part for index, part in enumerate(parts) if part and part not in parts[:index]]
    parts.append(f"HTTP: {method} {path}")
    return "\n\n".join(parts)


def _tool_name(operation_id: str) -> str:
    """The operation id in the characters a tool name may hold (at most 128 of them)."""
    return _NAME_BAD.sub("_", operation_id)[:128]


def build_tool(
    path: str,
    method: str,
    operation: Mapping[str, Any],
    components: Mapping[str, Any],
    shared_parameters: Iterable[Mapping[str, Any]] = (),
) -> Optional[ApiTool]:
    """The tool for one OpenAPI operation, or None (logged) when it cannot be one."""
    operation_id = str(operation.get("operationId") or "")
    verb = method.upper()
    if not operation_id:
        logger.info("operation not exposed as a tool: it has no operation id", extra={"path": path})
        return None
    refs: Set[str] = set()
    properties: Dict[str, Any] = {}
    required: List[str] = []
    arguments: List[Argument] = []

    def add(key: str, name: str, location: str, schema: Any, needed: bool) -> None:
        properties[key] = _rewrite_refs(schema, refs)
        arguments.append(Argument(key, name, location))
        if needed:
            required.append(key)

    parameters = {(p.get("in"), p.get("name")): p for p in shared_parameters}
    parameters.update({(p.get("in"), p.get("name")): p for p in operation.get("parameters") or ()})
    for (location, name), parameter in parameters.items():
        if location not in ("path", "query", "header", "cookie") or not name:
            continue
        schema = dict(parameter.get("schema") or {})
        if parameter.get("description") and "description" not in schema:
            schema["description"] = parameter["description"]
        key = name if name not in properties else f"{name}_{location}"
        add(
            key,
            str(name),
            str(location),
            schema,
            location == "path" or bool(parameter.get("required")),
        )

    body_type: Optional[str] = None
    body = operation.get("requestBody")
    if isinstance(body, Mapping):
        content = body.get("content") or {}
        body_type = next((t for t in (_JSON, _FORM) if t in content), None)
        if body_type is None:
            logger.info(
                "operation not exposed as a tool: its request body is not JSON or a form",
                extra={"operation_id": operation_id, "content_types": sorted(content)},
            )
            return None
        schema = (content[body_type] or {}).get("schema") or {}
        target = _resolve(schema, components)
        fields = target.get("properties")
        if (
            target.get("type", "object") == "object"
            and isinstance(fields, Mapping)
            and fields
            and not set(fields) & set(properties)
        ):
            body_required = bool(body.get("required"))
            needed = set(target.get("required") or ()) if body_required else set()
            for field, field_schema in fields.items():
                add(str(field), str(field), "field", field_schema, field in needed)
        else:
            key = "body" if "body" not in properties else "request_body"
            add(key, key, "body", schema, bool(body.get("required")))

    input_schema: Dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    defs = _defs(refs, components)
    if defs:
        input_schema["$defs"] = defs
    return ApiTool(
        name=_tool_name(operation_id),
        operation_id=operation_id,
        method=verb,
        path=path,
        tags=tuple(str(tag) for tag in operation.get("tags") or ()),
        description=_description(operation, verb, path),
        input_schema=input_schema,
        arguments=tuple(arguments),
        body_type=body_type,
    )


def hidden_path(path: str, base: str) -> bool:
    """Paths never served as tools: management, docs, OpenAPI, health, readiness, metrics, MCP."""
    base = base.rstrip("/")
    for prefix in ("", base):
        for name in ("tasks", "docs", "redoc", "static", "health_check", "metrics", "mcp"):
            root = f"{prefix}/{name}"
            if path == root or path.startswith(root + "/"):
                return True
        if path in (f"{prefix}/ready", f"{prefix}/openapi.json"):
            return True
    return False


def build_tools(
    spec: Mapping[str, Any],
    *,
    base: str,
    tool_filter: Optional[ToolFilter] = None,
    hidden: Collection[Tuple[str, str]] = (),
) -> List[ApiTool]:
    """The tools for the operations of an OpenAPI document `tool_filter` lets through.

    Never tools: `hidden_path` paths and the `(METHOD, path)` pairs in `hidden` (routes the
    framework and its plugins added). Operations sharing a name after the first are skipped.
    """
    tool_filter = tool_filter or ToolFilter()
    spec = copy.deepcopy(dict(spec))
    components = (spec.get("components") or {}).get("schemas") or {}
    tools: List[ApiTool] = []
    names: Set[str] = set()
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, Mapping) or hidden_path(path, base):
            continue
        for method in OPENAPI_METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping) or (method.upper(), path) in hidden:
                continue
            tool = build_tool(path, method, operation, components, item.get("parameters") or ())
            if tool is None or not tool_filter.allows(
                tool.operation_id, tool.tags, alias=tool.name
            ):
                continue
            if tool.name in names:
                logger.warning(
                    "operation not exposed as a tool: its name is taken",
                    extra={"tool": tool.name, "path": path, "method": tool.method},
                )
                continue
            names.add(tool.name)
            tools.append(tool)
    return tools
