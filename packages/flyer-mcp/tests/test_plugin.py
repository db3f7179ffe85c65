"""`McpPlugin` in flyer's app: entry point, settings, the Python 3.8/3.9 no-op, lifecycle."""

from __future__ import annotations

import importlib.metadata
import logging
import sys
import types
from typing import Any, List

import httpx
import pytest

from flyer_core import create_app
from flyer_mcp import SUPPORTED, McpPlugin

needs_mcp = pytest.mark.skipif(
    sys.version_info < (3, 10), reason="MCP needs Python 3.10+: the MCP SDK does not install here"
)


def _routes(app: Any) -> List[str]:
    return [str(getattr(route, "path", "")) for route in app.router.routes]


def _mcp_lines(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [r.getMessage() for r in caplog.records if r.name == "flyer.mcp"]


def test_registered_as_the_mcp_plugin() -> None:
    found = importlib.metadata.entry_points()
    group = (
        found.select(group="flyer.plugins")
        if hasattr(found, "select")
        else found.get("flyer.plugins", [])
    )
    (entry,) = [ep for ep in group if ep.name == "mcp"]
    assert entry.value == "flyer_mcp._plugin:McpPlugin"
    assert isinstance(entry.load()(), McpPlugin)


def test_a_bad_setting_fails_validation_in_one_line() -> None:
    settings = types.SimpleNamespace(environ={"flyer_mcp_enabled": "perhaps"})
    with pytest.raises(ValueError, match=r"^flyer_mcp_enabled='perhaps': expected a boolean"):
        McpPlugin().validate_settings(settings)


async def test_off_when_disabled(
    demo_apps: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("flyer_mcp_enabled", "0")
    plugin = McpPlugin()
    with caplog.at_level(logging.INFO, logger="flyer.mcp"):
        app = create_app(apps=demo_apps, env_file=None, plugins=[plugin])
    assert "/flyer/mcp" not in _routes(app)
    assert _mcp_lines(caplog) == ["mcp off: flyer_mcp_enabled is false"]
    assert await plugin.check() == {"ok": True, "enabled": False}


@pytest.mark.skipif(SUPPORTED, reason="checks the no-op of Python < 3.10")
async def test_a_no_op_with_one_log_line_before_python_3_10(
    demo_apps: str, caplog: pytest.LogCaptureFixture
) -> None:
    plugin = McpPlugin()
    with caplog.at_level(logging.INFO, logger="flyer.mcp"):
        app = create_app(apps=demo_apps, env_file=None, plugins=[plugin])
    assert "/flyer/mcp" not in _routes(app)
    (line,) = _mcp_lines(caplog)
    assert line.startswith("MCP needs Python 3.10+")
    assert "/flyer/mcp is not served" in line
    await plugin.startup()
    assert await plugin.check() == {"ok": True, "enabled": False}
    await plugin.shutdown()


@needs_mcp
async def test_started_and_stopped_with_the_app(demo_apps: str) -> None:
    plugin = McpPlugin()
    app = create_app(apps=demo_apps, env_file=None, plugins=[plugin])
    assert "/flyer/mcp" in _routes(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        before = await http.post("/flyer/mcp", json={})
        assert before.status_code == 503
        assert before.json()["code"] == 503
        assert "the app's lifespan has not started it" in before.json()["detail"]
        assert before.json()["request_id"] == before.headers["x-request-id"]
        assert await plugin.check() == {"ok": False, "enabled": True, "tools": 4}

        await plugin.startup()
        assert await plugin.check() == {"ok": True, "enabled": True, "tools": 4}
        listed = await http.post(
            "/flyer/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-11-25",
            },
        )
        assert listed.status_code == 200, listed.text
        names = sorted(tool["name"] for tool in listed.json()["result"]["tools"])
        assert names == ["create_item", "delete_user", "get_item", "greet_user"]

        await plugin.shutdown()
        assert (await http.post("/flyer/mcp", json={})).status_code == 503
        assert await plugin.check() == {"ok": False, "enabled": True, "tools": 4}


LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


@needs_mcp
async def test_browser_requests_from_other_origins_are_refused(
    demo_apps: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("flyer_cors_origins", "https://console.example")
    plugin = McpPlugin()
    app = create_app(apps=demo_apps, env_file=None, plugins=[plugin])
    await plugin.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:

            async def status(origin: str) -> int:
                answer = await http.post(
                    "/flyer/mcp", json=LIST, headers={**HEADERS, "Origin": origin}
                )
                return answer.status_code

            refused = await http.post(
                "/flyer/mcp", json=LIST, headers={**HEADERS, "Origin": "http://evil.example"}
            )
            assert refused.status_code == 403
            assert refused.json()["code"] == 403
            assert "'http://evil.example' may not call /flyer/mcp" in refused.json()["detail"]
            assert await status("http://test") == 200
            assert await status("https://console.example") == 200
            assert (await http.post("/flyer/mcp", json=LIST, headers=HEADERS)).status_code == 200
    finally:
        await plugin.shutdown()


@needs_mcp
async def test_start_up_leaves_the_document_to_the_first_use(
    demo_apps: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither building nor starting the app builds its OpenAPI document for the tools: the
    first readiness check (or MCP request) does, once."""
    plugin = McpPlugin()
    app = create_app(apps=demo_apps, env_file=None, plugins=[plugin])
    documents: List[int] = []
    build = app.openapi

    def counted() -> Any:
        documents.append(1)
        return build()

    app.openapi = counted  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="flyer.mcp"):
        await plugin.startup()
        assert documents == []
        assert "mcp tools read" not in _mcp_lines(caplog)
        assert await plugin.check() == {"ok": True, "enabled": True, "tools": 4}
        assert await plugin.check() == {"ok": True, "enabled": True, "tools": 4}
    assert documents == [1]
    assert _mcp_lines(caplog).count("mcp tools read") == 1
    await plugin.shutdown()


@needs_mcp
async def test_a_document_that_cannot_be_built_fails_readiness_and_the_endpoint(
    demo_apps: str,
) -> None:
    plugin = McpPlugin()
    app = create_app(apps=demo_apps, env_file=None, plugins=[plugin])

    def broken() -> Any:
        raise RuntimeError("no document")

    app.openapi = broken  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://test")
    async with app.router.lifespan_context(app), client as http:
        ready = await http.get("/flyer/ready")
        assert ready.status_code == 503
        assert ready.json()["data"]["checks"]["mcp"] == {"ok": False}
        listed = await http.post("/flyer/mcp", json=LIST, headers=HEADERS)
        # The MCP SDK answers the failed tools/list as a JSON-RPC error.
        assert listed.json()["error"]["message"] == "no document"
        assert "result" not in listed.json()
