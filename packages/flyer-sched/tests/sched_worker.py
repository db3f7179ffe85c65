"""A worker process for the multi-process tests: one scheduler, one locked job or leader.

Run as `python sched_worker.py '<json config>'`; the lock store comes from the environment
(`FLYER_REDIS_URL`, `FLYER_SCHED_LOCK_BACKEND`, ...), as in an app. Every event is appended
as one JSON line to the `record` file (one `os.write` on an O_APPEND descriptor, so lines from
many processes never interleave). Logs go to stderr as JSON lines.
"""

import asyncio
import json
import logging
import os
import signal
import sys
import threading
import time

from flyer_sched import asyncio_scheduler, background_scheduler, current_lease, current_tick
from flyer_sched._store import tick_of

CONFIG = json.loads(sys.argv[1])
PID = os.getpid()
RECORD = os.open(CONFIG["record"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
STOP = threading.Event()


def record(event, **fields):
    line = json.dumps({"event": event, "pid": PID, "t": time.time(), **fields}) + "\n"
    os.write(RECORD, line.encode())


class JsonLines(logging.Formatter):
    STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record):
        extra = {k: v for k, v in vars(record).items() if k not in self.STANDARD}
        payload = {"logger": record.name, "level": record.levelname, "msg": record.getMessage()}
        return json.dumps({**payload, **extra}, default=str)


handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(JsonLines())
logging.getLogger("flyer.sched").addHandler(handler)
logging.getLogger("flyer.sched").setLevel(logging.INFO)
signal.signal(signal.SIGTERM, lambda *_: STOP.set())

scheduler = asyncio_scheduler if CONFIG.get("scheduler") == "asyncio" else background_scheduler
JOB_SECONDS = float(CONFIG.get("job_seconds", 0.0))
TTL = CONFIG.get("ttl")


def started():
    tick = current_tick()
    fields = {"tick": tick_of(tick.scheduled_time), "fence": tick.fencing_token}
    record("start", **fields)
    return fields


if CONFIG["mode"] == "lock" and scheduler is background_scheduler:

    @scheduler.lock(ttl=TTL)
    def job():
        fields = started()
        time.sleep(JOB_SECONDS)
        record("end", lost=current_tick().lock_lost, **fields)

elif CONFIG["mode"] == "lock":

    @scheduler.lock(ttl=TTL)
    async def job():
        fields = started()
        await asyncio.sleep(JOB_SECONDS)
        record("end", lost=current_tick().lock_lost, **fields)


if CONFIG["mode"] == "lock":
    scheduler.add_job(
        job,
        "interval",
        seconds=CONFIG.get("interval", 1),
        id=CONFIG["job_id"],
        misfire_grace_time=CONFIG.get("misfire_grace_time", 5),
        coalesce=False,
        max_instances=CONFIG.get("max_instances", 1),
    )
else:

    @scheduler.leader(CONFIG["job_id"], ttl=TTL, retry_interval=0.1)
    def lead():
        lease = current_lease()
        record("leading", fence=lease.fencing_token)
        while not lease.wait(0.1):
            record("beat", fence=lease.fencing_token)
        record("stepped_down", lost=lease.lost)


def wait_until_done():
    deadline = time.monotonic() + float(CONFIG["duration"])
    while not STOP.is_set() and time.monotonic() < deadline:
        STOP.wait(0.05)


async def main_async():
    scheduler.start()
    record("ready")
    await asyncio.get_running_loop().run_in_executor(None, wait_until_done)
    record("stopping")
    await scheduler.aclose(10)


if scheduler is asyncio_scheduler:
    asyncio.run(main_async())
else:
    scheduler.start()
    record("ready")
    wait_until_done()
    record("stopping")
    scheduler.shutdown(wait=True)
record("exited")
