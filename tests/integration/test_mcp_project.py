"""A generated project's API as MCP tools, for real: `flyer create`, `flyer serve -w 2`, the
MCP SDK's own streamable HTTP client listing and calling tools.

The endpoint is stateless, so consecutive requests that reach different workers all work;
management routes are no tools; with auth on, no credentials means no MCP; tag filters
change the list.
"""

from __future__ import annotations

import json
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, Iterator, List, Optional, Tuple

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sys.version_info < (3, 10),
        reason="MCP needs Python 3.10+: the MCP SDK does not install here",
    ),
]

PREFIX = "/demo"
LIST_ITEMS = "list_items_demo_items_get"
GET_ITEM = "get_item_demo_items__item_id__get"
GET_USER = "get_user_demo_users__user_id__get"
AUTH = {"flyer_auth_enable": "1", "flyer_auth_user": "ops", "flyer_auth_pass": "s3cret-pass"}


@pytest.fixture(autouse=True)
def _needs_flyer_mcp() -> None:
    pytest.importorskip("flyer_mcp", reason="flyer-mcp is not installed in this environment")
    pytest.importorskip("mcp", reason="the MCP SDK is not installed in this environment")


class Session:
    """The SDK's client connected to `{url}/demo/mcp`, as an async context manager."""

    def __init__(self, url: str, auth: Optional[Tuple[str, str]] = None) -> None:
        self.url = url + PREFIX + "/mcp"
        self.auth = auth
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Any:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        try:
            http = await self._stack.enter_async_context(
                httpx2.AsyncClient(auth=self.auth, timeout=60)
            )
            return await self._stack.enter_async_context(
                Client(streamable_http_client(self.url, http_client=http))
            )
        except BaseException:
            await self._stack.aclose()  # a refused connection leaves no socket open
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    inner = getattr(exc, "exceptions", None)
    if not inner:
        yield exc
        return
    for each in inner:
        yield from _leaves(each)


def _envelope(result: Any) -> Dict[str, Any]:
    envelope = json.loads(result.content[0].text)
    assert result.structured_content == envelope
    return dict(envelope)


def _names(tools: List[Any]) -> List[str]:
    return sorted(tool.name for tool in tools)


async def test_tools_listed_and_called_under_two_workers(
    tmp_path: Path, serve_project: Callable[..., ContextManager[Any]]
) -> None:
    with serve_project(tmp_path, workers=2) as server:
        async with Session(server.url) as client:
            tools = (await client.list_tools()).tools
            page = await client.call_tool(LIST_ITEMS, {"offset": 0, "size": 1})
            # Consecutive requests land on either worker: each is served on its own.
            calls = [await client.call_tool(GET_USER, {"user_id": 1}) for _ in range(6)]
            first_id = _envelope(page)["data"][0]["id"]
            item = await client.call_tool(GET_ITEM, {"item_id": first_id})
            missing = await client.call_tool(GET_ITEM, {"item_id": 999999})
            invalid = await client.call_tool(LIST_ITEMS, {"size": 0})
    names = _names(tools)
    assert {LIST_ITEMS, GET_ITEM, GET_USER} <= set(names)
    assert not [name for name in names if "tasks" in name or "ready" in name], names
    assert len(names) == 11, names
    listed = {tool.name: tool for tool in tools}
    assert listed[GET_ITEM].description.startswith("Read an item")
    assert listed[GET_ITEM].input_schema["required"] == ["item_id"]

    assert not page.is_error
    assert _envelope(page)["code"] == 200
    assert _envelope(page)["pageInfo"]["size"] == 1
    for call in calls:
        assert _envelope(call)["data"]["name"] == "ada"
    assert _envelope(item)["data"]["id"] == first_id
    assert missing.is_error
    assert _envelope(missing)["code"] == 404
    assert invalid.is_error
    assert _envelope(invalid)["code"] == 422


async def test_auth_and_tag_filters(
    tmp_path: Path, serve_project: Callable[..., ContextManager[Any]]
) -> None:
    from mcp.shared.exceptions import MCPError

    with serve_project(tmp_path, workers=2, flyer_mcp_include_tags="Users", **AUTH) as server:
        try:
            async with Session(server.url) as client:
                await client.list_tools()
        except Exception as exc:
            refused: Optional[BaseException] = next(_leaves(exc))
        else:
            refused = None
        async with Session(server.url, auth=("ops", "s3cret-pass")) as client:
            tools = (await client.list_tools()).tools
            user = await client.call_tool(GET_USER, {"user_id": 1})
    assert isinstance(refused, MCPError), refused
    names = _names(tools)
    assert names, "the Users operations are tools"
    assert all("_users" in name for name in names), names
    assert LIST_ITEMS not in names
    # The operation ran with the caller's credentials (the business routes need them too).
    assert _envelope(user)["data"]["name"] == "ada"
