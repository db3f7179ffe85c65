"""An app with flyer-mq off (no `flyer_mq_url`) builds and starts without loading the parts
of flyer-mq that only a broker needs: the router class, `publish`, the version check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import asyncio, json, sys, types
from fastapi import FastAPI
from flyer_mq import MQPlugin

DEFERRED = ("flyer_mq._router", "flyer_mq._publish", "flyer_mq._support", "flyer_mq._service",
            "faststream")

def loaded():
    return sorted(name for name in DEFERRED if name in sys.modules)

async def main():
    app = FastAPI()
    settings = types.SimpleNamespace(environ={}, base_url="/flyer", graceful_timeout=15)
    plugin = MQPlugin()
    plugin.validate_settings(settings)
    plugin.setup(app, settings)
    await plugin.startup()
    result = {"started": loaded(), "check": await plugin.check()}
    await plugin.shutdown()
    result["stopped"] = loaded()
    print(json.dumps(result))

asyncio.run(main())
"""


def test_start_up_with_mq_off_loads_no_broker_code(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=str(tmp_path), env=env, check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"started": [], "check": {"ok": True, "enabled": False}, "stopped": []}
