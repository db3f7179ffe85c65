"""Building and starting an app with default settings imports only what mounts and opens the
MCP endpoint: the tool and filter classes load when the tools are first asked for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = r"""
import asyncio, json, sys
import httpx
from flyer_core import create_app
from flyer_mcp import McpPlugin

DEFERRED = ("flyer_mcp._call", "flyer_mcp._config", "flyer_mcp._filters", "flyer_mcp._tools",
            "mcp")
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}

def loaded():
    return sorted(name for name in DEFERRED if name in sys.modules)

async def main():
    app = create_app(apps=%r, env_file=None, plugins=[McpPlugin()])
    result = {}
    async with app.router.lifespan_context(app):
        result["started"] = loaded()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            answer = await http.post("/flyer/mcp", json=LIST, headers=HEADERS)
        result["status"] = answer.status_code
        result["tools"] = sorted(tool["name"] for tool in answer.json()["result"]["tools"])
        result["listed"] = loaded()
    print(json.dumps(result))

asyncio.run(main())
"""


@pytest.mark.skipif(
    sys.version_info < (3, 10), reason="MCP needs Python 3.10+: the MCP SDK does not install here"
)
def test_start_up_leaves_the_tools_to_their_first_use(demo_apps: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE % (demo_apps,)],
        cwd=str(tmp_path), env=env, check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {
        "started": [],
        "status": 200,
        "tools": ["create_item", "delete_user", "get_item", "greet_user"],
        "listed": ["flyer_mcp._filters", "flyer_mcp._tools", "mcp"],
    }
