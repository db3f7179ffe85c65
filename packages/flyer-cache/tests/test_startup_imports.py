"""An app caching in memory (no Redis configured) builds and starts without loading redis-py,
the Redis URL parsing or the readiness check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import asyncio, json, sys, types
from flyer_cache import CachePlugin

DEFERRED = ("flyer_cache._urls", "flyer_cache._readiness", "flyer_cache._events",
            "flyer_cache._pools", "flyer_cache._async_pools", "redis")

def loaded():
    return sorted(name for name in DEFERRED if name in sys.modules)

async def main():
    app = types.SimpleNamespace(state=types.SimpleNamespace())
    settings = types.SimpleNamespace(environ={})
    plugin = CachePlugin()
    plugin.validate_settings(settings)
    plugin.setup(app, settings)
    await plugin.startup()
    result = {"started": loaded(), "check": await plugin.check()}
    await plugin.shutdown()
    result["stopped"] = loaded()
    from flyer_cache import MemoryCache, default_backend
    result["memory"] = isinstance(default_backend(), MemoryCache)
    print(json.dumps(result))

asyncio.run(main())
"""


def test_start_up_caching_in_memory_loads_no_redis_code(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=str(tmp_path), env=env, check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {
        "started": [],
        "check": {"ok": True, "backend": "memory"},
        "stopped": [],
        "memory": True,
    }
