"""Importing flyer_sched does no work: no thread, no socket, no file written, no FastAPI."""

from __future__ import annotations

import subprocess
import sys

PROBE = r"""
import sys, threading
import uuid  # on Python 3.8 the stdlib's uuid runs `uname -p` at import: not ours to judge
events = []
def hook(event, args):
    if event in ("socket.connect", "os.mkdir", "os.chdir", "subprocess.Popen", "os.system"):
        events.append(event)
    if event == "open" and len(args) > 1 and args[1] and any(c in str(args[1]) for c in "wax+"):
        events.append(f"open-for-write {args[0]}")
sys.addaudithook(hook)
import tempfile
import flyer_sched
from flyer_sched import asyncio_scheduler, background_scheduler
print(threading.active_count(), events, tempfile.tempdir,
      sorted(m for m in ("fastapi", "redis", "starlette") if m in sys.modules),
      background_scheduler.running, asyncio_scheduler.running)
"""


def test_import_has_no_side_effects() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert out == "1 [] None [] False False"
