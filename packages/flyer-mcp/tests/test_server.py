"""The MCP endpoint for real: uvicorn in a subprocess, the MCP SDK's streamable HTTP client."""

from __future__ import annotations

import json
import sys
from contextlib import AsyncExitStack
from typing import Any, Awaitable, Callable, ContextManager, Dict, Iterator, List, Optional, Tuple

import pytest

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 10), reason="MCP needs Python 3.10+: the MCP SDK does not install here"
)

APP = """
from flyer_core import create_app

app = create_app(apps="demoapps", env_file=None)
"""

APP_CONFIGURED = """
from flyer_core import create_app
from flyer_mcp import config_mcp

app = create_app(apps="demoapps", env_file=None)
config_mcp(app, include_operations=["greet_user"], exclude_tags="Items", mount_path="/agents")
"""

Serve = Callable[..., ContextManager[str]]


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    inner = getattr(exc, "exceptions", None)
    if not inner:
        yield exc
        return
    for each in inner:
        yield from _leaves(each)


async def _failure(call: Awaitable[Any]) -> BaseException:
    """The error `call` fails with, out of the SDK's exception groups."""
    try:
        await call
    except Exception as exc:
        return next(_leaves(exc))
    pytest.fail("the call succeeded")


async def _session(
    url: str,
    auth: Optional[Tuple[str, str]] = None,
    headers: Optional[Dict[str, str]] = None,
    **client: Any,
) -> Tuple[List[Any], Dict[str, Any]]:
    """Connect the SDK's client to `url`: (tools listed, results of the calls in `client`)."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    calls: Dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx2.AsyncClient(auth=auth, headers=headers, timeout=60)
        )
        transport = streamable_http_client(url, http_client=http)
        session = await stack.enter_async_context(Client(transport))
        tools = (await session.list_tools()).tools
        for name, arguments in client.items():
            calls[name] = await session.call_tool(name, arguments)
    return tools, calls


async def test_tools_listed_and_called_with_arguments(serve_source: Serve) -> None:
    with serve_source(APP) as url:
        tools, calls = await _session(
            url + "/flyer/mcp",
            get_item={"item_id": 7, "verbose": True},
            create_item={"name": "pen", "price": 1.5},
            greet_user={"user_id": "ann", "times": 2, "x-lang": "en"},
        )
    names = {tool.name for tool in tools}
    assert names == {"get_item", "create_item", "greet_user", "delete_user"}
    by_name = {tool.name: tool for tool in tools}
    assert by_name["get_item"].description.startswith("Read an item\n\nOne item by id")
    assert by_name["get_item"].input_schema["required"] == ["item_id"]
    assert by_name["get_item"].annotations.read_only_hint is True
    assert by_name["delete_user"].annotations.destructive_hint is True

    item = calls["get_item"]
    assert not item.is_error
    envelope = json.loads(item.content[0].text)
    assert envelope["code"] == 200
    assert envelope["data"] == {"id": 7, "verbose": True}
    assert envelope["request_id"]
    assert item.structured_content == envelope

    created = calls["create_item"].structured_content
    assert created["code"] == 201
    assert created["data"] == {"name": "pen", "price": 1.5, "tags": []}
    greeting = calls["greet_user"].structured_content["data"]
    assert greeting == {"text": "hi ann hi ann", "lang": "en"}


async def test_the_operation_shares_the_mcp_requests_id(serve_source: Serve) -> None:
    with serve_source(APP) as url:
        _, calls = await _session(
            url + "/flyer/mcp", headers={"X-Request-ID": "agent-42"}, get_item={"item_id": 1}
        )
    assert calls["get_item"].structured_content["request_id"] == "agent-42"


async def test_error_envelopes_come_back_as_tool_errors(serve_source: Serve) -> None:
    with serve_source(APP) as url:
        _, calls = await _session(
            url + "/flyer/mcp", get_item={"item_id": 0}, create_item={"price": 2}
        )
    missing = calls["get_item"]
    assert missing.is_error
    assert missing.structured_content["code"] == 404
    assert missing.structured_content["message"] == "item not found"
    invalid = calls["create_item"]
    assert invalid.is_error
    assert invalid.structured_content["code"] == 422
    assert "name" in json.dumps(invalid.structured_content["data"])


async def test_auth_refuses_without_credentials_and_serves_with_them(serve_source: Serve) -> None:
    import httpx
    from mcp.shared.exceptions import MCPError

    env = {"flyer_auth_enable": "1", "flyer_auth_user": "ops", "flyer_auth_pass": "s3cret"}
    with serve_source(APP, **env) as url:
        endpoint = url + "/flyer/mcp"
        async with httpx.AsyncClient(timeout=30) as http:
            refused = await http.post(
                endpoint,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                headers={"Accept": "application/json, text/event-stream"},
            )
            wrong = await http.post(endpoint, json={}, auth=("ops", "nope"))
        assert refused.status_code == 401
        assert refused.json()["code"] == 401
        assert "Basic" in refused.headers["www-authenticate"]
        assert wrong.status_code == 401
        assert isinstance(await _failure(_session(endpoint)), MCPError)
        tools, calls = await _session(endpoint, auth=("ops", "s3cret"), get_item={"item_id": 3})
    assert "get_item" in {tool.name for tool in tools}
    # The operation ran with the caller's credentials: the business route is protected too.
    assert calls["get_item"].structured_content["data"]["id"] == 3


async def test_tag_settings_change_the_list(serve_source: Serve) -> None:
    with serve_source(APP, flyer_mcp_include_tags="Users") as url:
        only_users, _ = await _session(url + "/flyer/mcp")
    with serve_source(APP, flyer_mcp_exclude_tags="Users") as url:
        no_users, _ = await _session(url + "/flyer/mcp")
    assert {tool.name for tool in only_users} == {"greet_user", "delete_user"}
    assert {tool.name for tool in no_users} == {"get_item", "create_item"}


async def test_config_mcp_filters_and_base_url(serve_source: Serve) -> None:
    with serve_source(APP_CONFIGURED, flyer_base_url="/api") as url:
        tools, calls = await _session(url + "/api/agents", greet_user={"user_id": "bo"})
    assert [tool.name for tool in tools] == ["greet_user"]
    assert calls["greet_user"].structured_content["data"]["text"] == "hi bo"


async def test_off_when_disabled(serve_source: Serve) -> None:
    import httpx

    with serve_source(APP, flyer_mcp_enabled="0") as url:
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(url + "/flyer/mcp", json={})
    assert answer.status_code == 404
