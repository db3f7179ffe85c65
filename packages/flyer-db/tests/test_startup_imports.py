"""An app with no database configured builds and starts without loading SQLAlchemy or the
engine, URL, registry and readiness modules; they load when a database is first used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import asyncio, json, sys, types
from fastapi import FastAPI
from flyer_db import DBPlugin

DEFERRED = ("flyer_db._engine", "flyer_db._check", "flyer_db._registry", "flyer_db._url",
            "sqlalchemy")

def loaded():
    return sorted(name for name in DEFERRED if name in sys.modules)

async def main():
    settings = types.SimpleNamespace(environ={"flyer_db_pool_size": "5"}, ready_timeout=5.0)
    plugin = DBPlugin()
    plugin.validate_settings(settings)
    plugin.setup(FastAPI(), settings)
    await plugin.startup()
    result = {"started": loaded()}
    await plugin.shutdown()
    result["stopped"] = loaded()
    result["check"] = await plugin.check()  # readiness loads what it needs
    # They load on first use, which sees the settings the plugin read (pool size 5).
    from flyer_db._engine import default_settings
    result["default_pool_size"] = default_settings().pool_size
    print(json.dumps(result))

asyncio.run(main())
"""


def test_start_up_without_a_database_loads_no_database_code(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=str(tmp_path), env=env, check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert result["started"] == []
    assert result["check"] == {"ok": True, "databases": []}
    assert result["stopped"] == []
    assert result["default_pool_size"] == 5
