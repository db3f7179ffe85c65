"""Metrics of the stores an app uses: flyer-cache hits and misses (real Redis and memory),
checked-out connections of SQLAlchemy pools (real PostgreSQL), flyer-sched lock latency (a
real Redis lock store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any, Dict

import httpx
import sqlalchemy

from flyer_core import create_app
from flyer_telemetry import TelemetryPlugin

REDIS_URL = os.environ.get("FLYER_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
# SQLAlchemy 1.4 (the floor) has no psycopg 3 dialect: psycopg2 there.
DRIVER = "psycopg2" if sqlalchemy.__version__.startswith("1.") else "psycopg"
POSTGRES_URL = (
    os.environ.get("FLYER_TEST_POSTGRES_URL")
    or f"postgresql+{DRIVER}://postgres@127.0.0.1:5432/test"
)


def _samples(text: str, name: str) -> Dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{")
    }


async def _scrape(app: Any) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/flyer/metrics")
    assert response.status_code == 200
    return response.text


async def test_cache_hits_and_misses_by_cache_backend_and_result() -> None:
    from flyer_cache import MemoryCache, cached, close_async_pools

    namespace = f"t-{uuid.uuid4().hex}"

    @cached(30, backend=REDIS_URL, namespace=namespace)
    async def square(n: int) -> int:
        return n * n

    @cached(30, backend=MemoryCache(), namespace=namespace)
    def cube(n: int) -> int:
        return n * n * n

    app = create_app(apps=None, env_file=None, plugins=[TelemetryPlugin()])
    async with app.router.lifespan_context(app):
        assert [await square(3), await square(3), await square(3), await square(4)] == [9] * 3 + [
            16
        ]
        assert [cube(2), cube(2)] == [8, 8]
        text = await _scrape(app)
    await square.invalidate(3)
    await square.invalidate(4)
    await close_async_pools()
    square_name = f"{__name__}.{square.__wrapped__.__qualname__}"
    cube_name = f"{__name__}.{cube.__wrapped__.__qualname__}"
    counts = _samples(text, "flyer_cache_lookups_total")
    assert counts == {
        f'flyer_cache_lookups_total{{backend="RedisBackend",cache="{square_name}",result="hit"}}': 2.0,
        f'flyer_cache_lookups_total{{backend="RedisBackend",cache="{square_name}",result="miss"}}': 2.0,
        f'flyer_cache_lookups_total{{backend="MemoryCache",cache="{cube_name}",result="hit"}}': 1.0,
        f'flyer_cache_lookups_total{{backend="MemoryCache",cache="{cube_name}",result="miss"}}': 1.0,
    }


async def test_no_lookup_counted_once_the_app_stopped() -> None:
    from flyer_cache import MemoryCache, cached

    @cached(30, backend=MemoryCache())
    def one() -> int:
        return 1

    plugin = TelemetryPlugin()
    app = create_app(apps=None, env_file=None, plugins=[plugin])
    async with app.router.lifespan_context(app):
        assert one() == 1
    assert one() == 1  # after shutdown: its hook is gone
    assert plugin.metrics is not None
    text = plugin.metrics.render().decode()
    assert sum(_samples(text, "flyer_cache_lookups_total").values()) == 1.0


async def test_checked_out_connections_per_engine_on_postgresql() -> None:
    from sqlalchemy import text

    from flyer_db import create_engine

    engine = create_engine(POSTGRES_URL)
    label = 'flyer_db_pool_checked_out{engine="postgresql://127.0.0.1:5432/test"}'
    # Out before the app started: counted once the engine is seen.
    early = engine.connect()
    early.execute(text("select 1"))
    try:
        app = create_app(apps=None, env_file=None, plugins=[TelemetryPlugin()])
        async with app.router.lifespan_context(app):
            with engine.connect() as first:
                first.execute(text("select 1"))
                assert _samples(await _scrape(app), "flyer_db_pool_checked_out")[label] == 2.0
                with engine.connect() as second:
                    second.execute(text("select 1"))
                    assert _samples(await _scrape(app), "flyer_db_pool_checked_out")[label] == 3.0
                assert _samples(await _scrape(app), "flyer_db_pool_checked_out")[label] == 2.0
            early.close()
            assert _samples(await _scrape(app), "flyer_db_pool_checked_out")[label] == 0.0
    finally:
        early.close()
        engine.dispose()


async def test_lock_latency_by_job_and_claim_outcome_on_a_redis_lock_store() -> None:
    from flyer_sched import RedisLockStore, background_scheduler

    store = RedisLockStore(url=REDIS_URL, prefix=f"t-{uuid.uuid4().hex}")
    job = f"job-{uuid.uuid4().hex[:8]}"
    inner_ran = []

    @background_scheduler.lock(f"{job}-inner", store=store)
    def inner() -> None:
        inner_ran.append(True)

    @background_scheduler.lock(job, store=store)
    def outer() -> None:
        inner()
        # The same lock again while this call holds it: skipped (busy), its claim timed too.
        background_scheduler.lock(job, store=store)(lambda: None)()

    app = create_app(apps=None, env_file=None, plugins=[TelemetryPlugin()])
    async with app.router.lifespan_context(app):
        outer()
        text = await _scrape(app)
    assert inner_ran == [True]
    counts = _samples(text, "flyer_sched_lock_wait_seconds_count")
    outcomes = {key: value for key, value in counts.items() if f'job="{job}' in key}
    assert outcomes.keys() == {
        f'flyer_sched_lock_wait_seconds_count{{job="{job}",outcome="acquired"}}',
        f'flyer_sched_lock_wait_seconds_count{{job="{job}",outcome="busy"}}',
        f'flyer_sched_lock_wait_seconds_count{{job="{job}-inner",outcome="acquired"}}',
    }
    assert set(outcomes.values()) == {1.0}
    sums = _samples(text, "flyer_sched_lock_wait_seconds_sum")
    waited = sums[f'flyer_sched_lock_wait_seconds_sum{{job="{job}",outcome="acquired"}}']
    assert 0 < waited < 5  # a loopback Redis round trip, however busy the machine


POOLS_AFTER_START = """
import asyncio, json, sys
import httpx
from flyer_core import create_app
from flyer_telemetry import TelemetryPlugin

URL = %r
LABEL = 'flyer_db_pool_checked_out{engine="postgresql://127.0.0.1:5432/test"}'

def gauge(text):
    for line in text.splitlines():
        if line.startswith(LABEL):
            return float(line.rsplit(" ", 1)[1])
    return None

async def main():
    plugin = TelemetryPlugin()
    app = create_app(apps=None, env_file=None, plugins=[plugin])
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            async def scrape():
                return gauge((await http.get("/flyer/metrics")).text)
            result = {"imported_at_start": "sqlalchemy" in sys.modules}
            from sqlalchemy import text
            from flyer_db import create_engine
            engine = create_engine(URL)
            with engine.connect() as early:  # out before the watch begins
                early.execute(text("select 1"))
                plugin._watch_pools()  # what the next process refresh does
                with engine.connect() as second:  # the engine is seen: both counted
                    second.execute(text("select 1"))
                    result["both_out"] = await scrape()
                result["one_out"] = await scrape()
            result["none_out"] = await scrape()
            engine.dispose()
    print(json.dumps(result))

asyncio.run(main())
"""


def test_pools_are_watched_once_sqlalchemy_is_imported_after_start(tmp_path: Any) -> None:
    """Start-up does not import SQLAlchemy; an engine made later is still counted."""
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    out = subprocess.run(
        [sys.executable, "-c", POOLS_AFTER_START % (POSTGRES_URL,)],
        cwd=str(tmp_path), env=env, check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {
        "imported_at_start": False,
        "both_out": 2.0,
        "one_out": 1.0,
        "none_out": 0.0,
    }
