"""Building and starting an app with default settings imports only what serves its requests:
the process and pool collectors load with the first scrape (or SQLAlchemy's import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import asyncio, json, sys
import httpx
from flyer_core import create_app
from flyer_telemetry import TelemetryPlugin

DEFERRED = ("flyer_telemetry._pools", "flyer_telemetry._process", "flyer_telemetry._tracing",
            "prometheus_client", "sqlalchemy")

def loaded():
    return sorted(name for name in DEFERRED if name in sys.modules)

async def main():
    plugin = TelemetryPlugin()
    app = create_app(apps=None, env_file=None, plugins=[plugin])
    result = {}
    async with app.router.lifespan_context(app):
        result["started"] = loaded()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            answer = await http.get("/flyer/metrics")
        result["status"] = answer.status_code
        result["scraped"] = loaded()
        result["process"] = "flyer_process_cpu_seconds " in answer.text
        result["requests"] = "flyer_requests_total" in answer.text
        import sqlalchemy  # the app (or flyer-db) uses a database: its pools are watched
        plugin._watch_pools()  # what the next process refresh does
        result["pools"] = plugin._pools is not None and plugin._pools.installed
    print(json.dumps(result))

asyncio.run(main())
"""


def test_start_up_leaves_the_collectors_to_their_first_use(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith(("flyer_", "prom"))}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=str(tmp_path), env=env, check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {
        "started": [],
        "status": 200,
        "scraped": ["flyer_telemetry._process", "prometheus_client"],
        "process": True,
        "requests": True,
        "pools": True,
    }
