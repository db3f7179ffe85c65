"""Running a tool: the real HTTP operation, in-process, through the app's whole stack.

The request goes through httpx's ASGI transport into the app itself, so the route's auth,
validation, middleware, access line and envelope are exactly those of an HTTP client's call.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

import httpx

from flyer_mcp._tools import ApiTool

# Headers of the MCP request that the operation's request carries on.
FORWARDED_HEADERS = ("authorization", "accept-language", "x-request-id")


class ArgumentError(ValueError):
    """A tool call's arguments cannot make a request (a path parameter is missing)."""


@dataclasses.dataclass(frozen=True)
class CallResult:
    """The operation's answer: HTTP status, body text and the body parsed as JSON (or None)."""

    status: int
    text: str
    data: Any = None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def build_request(
    tool: ApiTool, arguments: Mapping[str, Any]
) -> Tuple[str, List[Tuple[str, str]], Dict[str, str], Dict[str, Any]]:
    """`(path, query, headers, body kwargs)` for `tool` called with `arguments`."""
    path = tool.path
    query: List[Tuple[str, str]] = []
    headers: Dict[str, str] = {}
    cookies: List[str] = []
    fields: Dict[str, Any] = {}
    body: Any = None
    has_body = False
    for argument in tool.arguments:
        if argument.key not in arguments or arguments[argument.key] is None:
            if argument.location == "path":
                raise ArgumentError(f"missing argument {argument.key!r} (a path parameter)")
            continue
        value = arguments[argument.key]
        if argument.location == "path":
            path = path.replace("{" + argument.name + "}", quote(_scalar(value), safe=""))
        elif argument.location == "query":
            values = value if isinstance(value, list) else [value]
            query.extend((argument.name, _scalar(item)) for item in values)
        elif argument.location == "header":
            headers[argument.name] = _scalar(value)
        elif argument.location == "cookie":
            cookies.append(f"{argument.name}={quote(_scalar(value), safe='')}")
        elif argument.location == "field":
            fields[argument.name] = value
        else:
            body, has_body = value, True
    if cookies:
        headers["cookie"] = "; ".join(cookies)
    content: Dict[str, Any] = {}
    if tool.body_type is not None and (fields or has_body):
        payload = fields if fields else body
        if tool.body_type == "application/json":
            content["json"] = payload
        else:
            content["data"] = payload
    return path, query, headers, content


async def call_operation(
    app: Any,
    tool: ApiTool,
    arguments: Mapping[str, Any],
    *,
    base_url: str = "http://localhost",
    headers: Optional[Mapping[str, str]] = None,
    client: Optional[Tuple[str, int]] = None,
) -> CallResult:
    """Perform `tool`'s operation on the ASGI `app` with `arguments`.

    `headers`: the MCP request's headers; the ones in `FORWARDED_HEADERS` are carried on (the
    caller's credentials, language and request id). `client`: the caller's address.
    """
    path, query, own_headers, content = build_request(tool, arguments)
    sent = {
        name: value for name, value in (headers or {}).items() if name.lower() in FORWARDED_HEADERS
    }
    sent.update(own_headers)
    transport = httpx.ASGITransport(
        app=app, raise_app_exceptions=False, client=client or ("127.0.0.1", 0)
    )
    async with httpx.AsyncClient(
        transport=transport, base_url=base_url, trust_env=False, follow_redirects=False
    ) as http:
        response = await http.request(
            tool.method, path, params=tuple(query), headers=sent, **content
        )
    text = response.text
    data: Any = None
    if "json" in response.headers.get("content-type", ""):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
    return CallResult(response.status_code, text, data)
