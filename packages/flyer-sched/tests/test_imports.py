"""Importing flyer_sched does no work: no thread, no socket, no file written, no FastAPI, and
APScheduler waits for a scheduler's first use."""

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
heavy = ("fastapi", "redis", "starlette", "apscheduler.schedulers", "apscheduler.executors")
loaded = sorted(m for m in heavy if m in sys.modules)
from flyer_sched import SchedPlugin
import types
SchedPlugin().validate_settings(types.SimpleNamespace(environ={}))
default_zone = flyer_sched.SchedSettings.from_env({}).timezone
utc = [default_zone, "apscheduler" in sys.modules]  # "UTC" needs no APScheduler to check
settings = types.SimpleNamespace(environ={"flyer_sched_timezone": "Asia/Shanghai"})
SchedPlugin().validate_settings(settings)
for scheduler in (asyncio_scheduler, background_scheduler):
    scheduler.use_settings(flyer_sched.SchedSettings.from_env(settings.environ))
configured = sorted(m for m in heavy if m in sys.modules and m.startswith("apscheduler"))
state = [background_scheduler.running, asyncio_scheduler.running, asyncio_scheduler.state,
         background_scheduler.get_jobs(), "apscheduler.schedulers" in sys.modules]
print(threading.active_count(), events, tempfile.tempdir, loaded, utc, configured, state,
      str(background_scheduler.timezone), "apscheduler.schedulers" in sys.modules)
"""


def test_import_has_no_side_effects() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    # Configured (settings read, time zone set) without loading APScheduler's schedulers;
    # its state and jobs are known without them too; reading the zone loads them, with the
    # zone applied.
    assert out == "1 [] None [] ['UTC', False] [] [False, False, 0, [], False] Asia/Shanghai True"
