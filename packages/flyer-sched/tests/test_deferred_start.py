"""A scheduler started with nothing to run defers APScheduler: no import, no thread, no timer
until the first job, job store, executor or listener. Each case runs in a fresh interpreter, so
`sys.modules` tells what a start loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

PRELUDE = r"""
import asyncio, json, sys, threading
LOADED = "apscheduler.schedulers"
def loaded():
    return LOADED in sys.modules
def apscheduler():
    return sorted(m for m in sys.modules if m.split(".")[0] == "apscheduler")
async def wait(event):
    # A threading.Event, waited for off the loop; generous, so a slow machine never fails.
    assert await asyncio.get_running_loop().run_in_executor(None, event.wait, 60)
"""


def _run(tmp_path: Path, code: str) -> Dict[str, Any]:
    env = dict(os.environ)
    env.update(flyer_sched_lock_dir=str(tmp_path / "locks"), flyer_log_format="json")
    out = subprocess.run(
        [sys.executable, "-c", PRELUDE + code],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    result: Dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


DEFAULTS = r"""
from flyer_sched import asyncio_scheduler as aio, background_scheduler as bg
result = {}
async def main():
    threads = threading.active_count()
    bg.start()
    aio.start()
    result["started"] = {
        "loaded": loaded(), "apscheduler": apscheduler(), "running": [bg.running, aio.running], "state": [bg.state, aio.state],
        "threads": threading.active_count() - threads,
        "loop": aio.flyer_loop is asyncio.get_running_loop(),
        "jobs": [bg.get_jobs(), aio.get_jobs(), bg.get_job("x"), aio.get_job("x")],
        "listed": [bg.list_jobs(), aio.list_jobs(), bg.list_leaders(), aio.list_leaders()],
    }
    bg.pause(); aio.pause()
    paused = [bg.state, aio.state]
    bg.resume(); aio.resume()
    bg.wakeup(); aio.wakeup()
    result["flipped"] = {"paused": paused, "resumed": [bg.state, aio.state], "loaded": loaded()}
    # A job added after the start runs, as if APScheduler had been started with the app.
    once, ticks, coro = threading.Event(), threading.Event(), threading.Event()
    bg.add_job(once.set, "date", id="once")
    bg.add_job(ticks.set, "interval", seconds=0.05, id="ticks")
    async def job():
        coro.set()
    aio.add_job(job, "interval", seconds=0.05, id="coro")
    await wait(once); await wait(ticks); await wait(coro)
    result["jobs"] = {
        "loaded": loaded(), "state": [bg.state, aio.state],
        "ids": sorted(j.id for j in bg.get_jobs() + aio.get_jobs()),
    }
    ok = await aio.aclose(10)
    bg.shutdown()
    result["stopped"] = {"ok": ok, "running": [bg.running, aio.running]}
asyncio.run(main())
print(json.dumps(result))
"""


def test_default_schedulers_start_without_apscheduler_and_run_jobs_added_later(
    tmp_path: Path,
) -> None:
    result = _run(tmp_path, DEFAULTS)
    assert result["started"] == {
        "loaded": False,
        "apscheduler": [],
        "running": [True, True],
        "state": [1, 1],
        "threads": 0,
        "loop": True,
        "jobs": [[], [], None, None],
        "listed": [[], [], [], []],
    }
    assert result["flipped"] == {"paused": [2, 2], "resumed": [1, 1], "loaded": False}
    # The first job made and started APScheduler's scheduler; the date job ran and is gone.
    assert result["jobs"] == {"loaded": True, "state": [1, 1], "ids": ["coro", "ticks"]}
    assert result["stopped"] == {"ok": True, "running": [False, False]}


PAUSED = r"""
from flyer_sched import BackgroundScheduler
scheduler = BackgroundScheduler()
result = {}
scheduler.start(paused=True)
result["started"] = [scheduler.running, scheduler.state, loaded()]
ran = threading.Event()
scheduler.add_job(ran.set, "interval", seconds=0.05, id="tick")
# Made and started paused, as the start asked: the job waits for resume().
result["added"] = [scheduler.state, loaded(), ran.is_set()]
scheduler.resume()
result["resumed"] = [scheduler.state, ran.wait(60)]
scheduler.shutdown()
result["shut"] = [scheduler.running, scheduler.state]
try:
    scheduler.shutdown()
except Exception as exc:
    result["shut_again"] = type(exc).__name__
print(json.dumps(result))
"""


def test_a_paused_deferred_start_makes_apscheduler_paused(tmp_path: Path) -> None:
    result = _run(tmp_path, PAUSED)
    assert result == {
        "started": [True, 2, False],
        "added": [2, True, False],
        "resumed": [1, True],
        "shut": [False, 0],
        "shut_again": "SchedulerNotRunningError",
    }


LIFESPANS = r"""
from flyer_sched import AsyncIOScheduler, BackgroundScheduler
from apscheduler.schedulers import SchedulerAlreadyRunningError, SchedulerNotRunningError
aio, bg = AsyncIOScheduler(), BackgroundScheduler()
result = {}
def errors(action):
    try:
        action()
    except (SchedulerAlreadyRunningError, SchedulerNotRunningError) as exc:
        return type(exc).__name__
    return None
async def deferred_lifespan():
    threads = threading.active_count()
    bg.start(); aio.start()
    started = [bg.state, aio.state, threading.active_count() - threads]  # no scheduler thread
    again = [errors(bg.start), errors(aio.start)]
    ok = await aio.aclose(5)
    bg.shutdown()
    return {"started": started, "again": again, "ok": ok, "running": [bg.running, aio.running],
            "state": [bg.state, aio.state], "loop": aio.flyer_loop,
            "shutdown": [errors(bg.shutdown), errors(aio.shutdown)], "loaded": loaded()}
async def lifespan_with_jobs(name):
    bg.start(); aio.start()
    ran, coro = threading.Event(), threading.Event()
    async def job():
        coro.set()
    bg.add_job(ran.set, "interval", seconds=0.05, id="tick", replace_existing=True)
    aio.add_job(job, "interval", seconds=0.05, id="coro", replace_existing=True)
    await wait(ran); await wait(coro)
    ok = await aio.aclose(5)
    bg.shutdown()
    return {"ok": ok, "running": [bg.running, aio.running]}
async def kept_jobs_lifespan():
    # Made in the last lifespan: started with the app again, its jobs rescheduled.
    ran, coro = threading.Event(), threading.Event()
    bg.modify_job("tick", func=ran.set)
    async def job():
        coro.set()
    aio.modify_job("coro", func=job)
    bg.start(); aio.start()
    await wait(ran); await wait(coro)
    ok = await aio.aclose(5)
    bg.shutdown()
    return {"ok": ok, "ids": sorted(j.id for j in bg.get_jobs() + aio.get_jobs())}
result["first"] = asyncio.run(deferred_lifespan())
result["second"] = asyncio.run(deferred_lifespan())
result["third"] = asyncio.run(lifespan_with_jobs("third"))
result["fourth"] = asyncio.run(kept_jobs_lifespan())
print(json.dumps(result))
"""


def test_lifespans_after_a_deferred_start_work_both_ways(tmp_path: Path) -> None:
    result = _run(tmp_path, LIFESPANS)
    deferred = {
        "started": [1, 1, 0],
        "again": ["SchedulerAlreadyRunningError", "SchedulerAlreadyRunningError"],
        "ok": True,
        "running": [False, False],
        "state": [0, 0],
        "loop": None,
        "shutdown": ["SchedulerNotRunningError", "SchedulerNotRunningError"],
        "loaded": True,  # imported by this script for its errors
    }
    assert result["first"] == deferred
    assert result["second"] == deferred
    assert result["third"] == {"ok": True, "running": [False, False]}
    assert result["fourth"] == {"ok": True, "ids": ["coro", "tick"]}


ASYNCIO_ADDS = r"""
from flyer_sched import AsyncIOScheduler
result = {}
async def from_coroutine():
    scheduler = AsyncIOScheduler()
    scheduler.start()
    ran = threading.Event()
    async def job():
        ran.set()
    scheduler.add_job(job, "date", id="job")
    await wait(ran)
    return await scheduler.aclose(5)
async def from_thread():
    scheduler = AsyncIOScheduler()
    scheduler.start()
    deferred = loaded()
    ran, added = threading.Event(), threading.Event()
    errors = []
    async def job():
        ran.set()
    def add():
        try:
            scheduler.add_job(job, "interval", seconds=0.05, id="job")
        except BaseException as exc:
            errors.append(repr(exc))
        added.set()
    threading.Thread(target=add).start()
    await wait(added)
    await wait(ran)
    same = scheduler.flyer_loop is asyncio.get_running_loop()
    return {"deferred": not deferred, "errors": errors, "same": same,
            "ok": await scheduler.aclose(5)}
result["thread"] = asyncio.run(from_thread())
result["coroutine"] = asyncio.run(from_coroutine())
print(json.dumps(result))
"""


def test_asyncio_jobs_added_after_a_deferred_start_run_from_the_loop_or_a_thread(
    tmp_path: Path,
) -> None:
    result = _run(tmp_path, ASYNCIO_ADDS)
    assert result == {
        "thread": {"deferred": True, "errors": [], "same": True, "ok": True},
        "coroutine": True,
    }


CONFIGURED = r"""
from flyer_sched import AsyncIOScheduler, BackgroundScheduler
result = {}
async def main():
    # A job store can hold jobs (a persistent one from an earlier run): APScheduler starts.
    aio = AsyncIOScheduler(jobstores={"default": {"type": "memory"}})
    aio.start()
    result["option"] = [loaded(), aio.state]
    try:
        aio.start()  # as APScheduler: not a second scheduler beside the first
    except Exception as exc:
        result["again"] = type(exc).__name__
    await aio.aclose(5)
asyncio.run(main())
bg = BackgroundScheduler({"apscheduler.jobstores.default.type": "memory"})
bg.start()
result["gconfig"] = [loaded(), bg.state]
bg.shutdown()
# The same configuration makes the next lifespan's scheduler too.
bg = BackgroundScheduler(jobstores={"default": {"type": "memory"}})
for _ in range(2):
    bg.start()
    result.setdefault("restarts", []).append(bg.state)
    bg.shutdown()
print(json.dumps(result))
"""


def test_a_configured_job_store_starts_apscheduler_with_the_scheduler(tmp_path: Path) -> None:
    result = _run(tmp_path, CONFIGURED)
    assert result == {
        "option": [True, 1],
        "again": "SchedulerAlreadyRunningError",
        "gconfig": [True, 1],
        "restarts": [1, 1],
    }


LISTENER = r"""
from flyer_sched import BackgroundScheduler
from apscheduler.events import EVENT_SCHEDULER_STARTED
scheduler = BackgroundScheduler()
events = []
scheduler.add_listener(lambda event: events.append(event.code))
scheduler.start()
result = {"loaded": loaded(), "started": EVENT_SCHEDULER_STARTED in events}
scheduler.shutdown()
print(json.dumps(result))
"""


def test_a_listener_added_before_start_hears_the_start(tmp_path: Path) -> None:
    assert _run(tmp_path, LISTENER) == {"loaded": True, "started": True}


PLUGIN = r"""
from types import SimpleNamespace
from fastapi import FastAPI
from flyer_sched import SchedPlugin
app = FastAPI()
plugin = SchedPlugin()
settings = SimpleNamespace(environ={"flyer_sched_lock_dir": "locks"})
plugin.validate_settings(settings)
plugin.setup(app, settings)
async def get(path):
    sent = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"x")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80)}
    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)
async def main():
    await plugin.startup()
    check = await plugin.check()
    listed = await get("/tasks")
    one = await get("/tasks/nope")
    result = {"check": check, "list": [listed[0], listed[1]["data"]], "one": one[0],
              "apscheduler": apscheduler()}
    await plugin.shutdown()
    result["after"] = [s.running for s in plugin.schedulers] + apscheduler()
    return result
print(json.dumps(asyncio.run(main())))
"""


def test_readiness_and_listing_do_not_load_apscheduler(tmp_path: Path) -> None:
    result = _run(tmp_path, PLUGIN)
    assert result == {
        "check": {"ok": True, "background": "running", "asyncio": "running"},
        "list": [200, {"jobs": [], "leaders": []}],
        "one": 404,
        "apscheduler": [],
        "after": [False, False],
    }


# What an app with every plugin does at start-up: the plugin's setup (settings, `/tasks`
# routes), a run hook (flyer-telemetry's metrics), the start, readiness and `GET /tasks`.
UNUSED = r"""
from types import SimpleNamespace
from fastapi import FastAPI
from flyer_sched import SchedPlugin
DEFERRED = ["flyer_sched." + m for m in (
    "_events", "_file_store", "_leader", "_lock", "_memory_store", "_renewal", "_store",
    "_threadpool", "_tick")]
def ours():
    return [m for m in DEFERRED if m in sys.modules]
app = FastAPI()
plugin = SchedPlugin()
settings = SimpleNamespace(environ={"flyer_sched_lock_dir": "locks"})
plugin.validate_settings(settings)
plugin.setup(app, settings)
events = []
for scheduler in plugin.schedulers:
    scheduler.add_run_hook(events.append)
result = {}
async def main():
    await plugin.startup()
    result["check"] = await plugin.check()
    status = [route.endpoint() for route in app.routes if getattr(route, "path", "") == "/tasks"]
    result["listed"] = status[0].data.jobs
    result["started"] = ours()
    import flyer_sched
    bg, aio = plugin.schedulers
    result["threadpool"] = [flyer_sched.threadpool.scheduler is bg, "flyer_sched._threadpool" in ours()]
    plain, locked, coro = threading.Event(), threading.Event(), threading.Event()
    bg.add_job(plain.set, "interval", seconds=0.05, id="plain")
    @bg.lock(store="memory")
    def claimed():
        locked.set()
    bg.add_job(claimed, "interval", seconds=0.05, id="locked")
    @aio.lock()
    async def coroutine():
        coro.set()
    aio.add_job(coroutine, "interval", seconds=0.05, id="coro")
    await wait(plain); await wait(locked); await wait(coro)
    result["check_jobs"] = await plugin.check()
    result["jobs"] = sorted(j["id"] for j in bg.list_jobs() + aio.list_jobs())
    await plugin.shutdown()
    result["hooked"] = sorted({e.job_id for e in events if e.outcome == "success"})
asyncio.run(main())
print(json.dumps(result))
"""


def test_an_app_start_imports_no_lock_store_event_or_leader_module(tmp_path: Path) -> None:
    result = _run(tmp_path, UNUSED)
    assert result["check"] == {"ok": True, "background": "running", "asyncio": "running"}
    assert result["listed"] == []
    assert result["started"] == []
    assert result["threadpool"] == [True, True]  # read: imported
    # Jobs (locked or not) load what they need, run, and report to the hooks added before.
    assert result["check_jobs"] == {
        "ok": True,
        "background": "running",
        "asyncio": "running",
        "lock_store": "file: ok",
    }
    assert result["jobs"] == ["coro", "locked", "plain"]
    assert result["hooked"] == ["coro", "locked", "plain"]
