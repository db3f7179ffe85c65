"""Worker processes for the multi-process tests: one scheduler, one locked job or leader.

`python sched_worker.py zygote` imports flyer-sched once, then forks a worker for every JSON
config line it reads on stdin (answering with the child's pid) and appends `{"pid", "code"}`
lines to the `exits` file named on the command line as children end. Forking from one warm
process spares every worker the interpreter start and the imports, which on a shared two-core
machine is most of what a fleet costs; each worker is still its own process, with its own
pid, scheduler, Redis connection and signals, exactly as gunicorn's preloaded workers are.

A worker's lock store comes from its environment (`FLYER_REDIS_URL`,
`FLYER_SCHED_LOCK_BACKEND`, ...), as in an app. Every event is appended as one JSON line to
the config's `record` file (one `os.write` on an O_APPEND descriptor, so lines from many
processes never interleave). Logs go to the config's `log` file as JSON lines.
"""

import asyncio
import json
import logging
import os
import select
import signal
import sys
import threading
import time

from flyer_sched import (
    asyncio_scheduler,
    background_scheduler,
    current_lease,
    current_tick,
    threadpool,
)
from flyer_sched._store import tick_of


class JsonLines(logging.Formatter):
    STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record):
        extra = {k: v for k, v in vars(record).items() if k not in self.STANDARD}
        payload = {"logger": record.name, "level": record.levelname, "msg": record.getMessage()}
        return json.dumps({**payload, **extra}, default=str)


def worker(config):
    """Schedule the configured job or leader until the duration ends or SIGTERM arrives."""
    pid = os.getpid()
    out = os.open(config["record"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    stop = threading.Event()

    def record(event, **fields):
        line = json.dumps({"event": event, "pid": pid, "t": time.time(), **fields}) + "\n"
        os.write(out, line.encode())

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    logging.getLogger().addHandler(handler)
    logging.getLogger("flyer.sched").setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    scheduler = asyncio_scheduler if config.get("scheduler") == "asyncio" else background_scheduler
    job_seconds = float(config.get("job_seconds", 0.0))
    ttl = config.get("ttl")

    def started():
        tick = current_tick()
        fields = {"tick": tick_of(tick.scheduled_time), "fence": tick.fencing_token}
        record("start", **fields)
        return fields

    if config["mode"] == "lock":
        if scheduler is background_scheduler:

            @scheduler.lock(ttl=ttl)
            def job():
                fields = started()
                time.sleep(job_seconds)
                record("end", lost=current_tick().lock_lost, **fields)

        else:

            @scheduler.lock(ttl=ttl)
            async def job():
                fields = started()
                await asyncio.sleep(job_seconds)
                record("end", lost=current_tick().lock_lost, **fields)

        scheduler.add_job(
            job,
            "interval",
            seconds=config.get("interval", 1),
            id=config["job_id"],
            misfire_grace_time=config.get("misfire_grace_time", 5),
            coalesce=False,
            max_instances=config.get("max_instances", 1),
        )
    elif config["mode"] == "threadpool":

        def loop():  # FastFlyer's shape: a loop that checks is_stopped() and sleeps
            record("leading", fence=current_lease().fencing_token)
            while not threadpool.is_stopped():
                record("beat", fence=current_lease().fencing_token)
                threadpool.sleep(0.1)
            record("stepped_down", lost=current_lease().lost)

        threadpool.submit_task(loop)
    else:

        @scheduler.leader(config["job_id"], ttl=ttl, retry_interval=0.1)
        def lead():
            lease = current_lease()
            record("leading", fence=lease.fencing_token)
            while not lease.wait(0.1):
                record("beat", fence=lease.fencing_token)
            record("stepped_down", lost=lease.lost)

    def wait_until_done():
        deadline = time.monotonic() + float(config["duration"])
        while not stop.is_set() and time.monotonic() < deadline:
            stop.wait(0.05)

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


def _exit_code(status):
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _child(config):
    for key in [k for k in os.environ if k.upper().startswith("FLYER_")]:
        del os.environ[key]
    os.environ.update(config.get("env", {}))
    devnull = os.open(os.devnull, os.O_RDWR)
    log = os.open(config["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(log, 2)
    code = 0
    try:
        worker(config)
    except BaseException:
        logging.getLogger("flyer.sched").exception("worker crashed")
        code = 1
    finally:
        logging.shutdown()
    os._exit(code)


def zygote(exits_path):
    """Fork a worker per config line on stdin; report each child's exit code.

    When stdin closes (the test session ended), remaining workers are killed.
    """
    try:
        import redis  # noqa: F401  (warm for every child)
    except ImportError:
        pass
    exits = os.open(exits_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    children = set()
    pending = b""
    open_input = True
    while open_input or children:
        if open_input and select.select([0], [], [], 0.02)[0]:
            chunk = os.read(0, 65536)
            if not chunk:
                open_input = False
                for pid in children:
                    os.kill(pid, signal.SIGKILL)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if not line.strip():
                    continue
                pid = os.fork()
                if pid == 0:
                    _child(json.loads(line))
                children.add(pid)
                os.write(1, f"{pid}\n".encode())
        elif not open_input:
            time.sleep(0.02)
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            children.discard(pid)
            os.write(exits, (json.dumps({"pid": pid, "code": _exit_code(status)}) + "\n").encode())


if __name__ == "__main__":
    zygote(sys.argv[2]) if sys.argv[1] == "zygote" else worker(json.loads(sys.argv[1]))
