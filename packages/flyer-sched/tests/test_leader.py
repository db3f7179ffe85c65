"""Leaders in one process: one holder, handover on stop, restart after errors, lost leases."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, List

import pytest

from flyer_sched import RedisLockStore, current_lease


def _wait(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_one_leader_at_a_time_and_handover_when_it_stops(
    make_scheduler: Callable[..., Any],
) -> None:
    leading: List[str] = []
    schedulers = {"a": make_scheduler(), "b": make_scheduler()}
    for name, scheduler in schedulers.items():

        @scheduler.leader("feed", ttl=1.0)
        def feed(name: str = name) -> None:
            lease = current_lease()
            assert lease is not None
            assert lease.fencing_token
            leading.append(name)
            while not lease.wait(0.05):
                pass

    schedulers["a"].start()
    _wait(lambda: leading == ["a"])
    schedulers["b"].start()
    time.sleep(0.5)
    assert leading == ["a"]
    info = schedulers["b"].list_leaders()[0]
    assert info["id"] == "feed"
    assert info["leading_here"] is False
    assert info["lock_holder"]
    assert schedulers["a"].list_leaders()[0]["leading_here"] is True
    schedulers["a"].shutdown()  # releases the lease: no waiting for its TTL
    assert schedulers["a"].list_leaders()[0]["leading_here"] is False
    _wait(lambda: leading == ["a", "b"])


def test_a_leader_that_raises_is_logged_and_run_again(
    make_scheduler: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = make_scheduler()
    calls: List[int] = []

    @scheduler.leader("flaky", ttl=1.0, retry_interval=0.05)
    def flaky() -> None:
        calls.append(current_lease().fencing_token)
        raise RuntimeError("upstream down")

    scheduler.start()
    _wait(lambda: len(calls) >= 3)
    scheduler.shutdown()
    assert calls == sorted(calls)
    assert len(set(calls)) == len(calls)
    assert any("leader flaky raised RuntimeError" in r.getMessage() for r in caplog.records)


def test_a_lost_lease_asks_the_function_to_stop(
    make_scheduler: Callable[..., Any], redis_url: str, prefix: str, redis_client: Any
) -> None:
    store = RedisLockStore(url=redis_url, prefix=prefix)
    scheduler = make_scheduler(store=store)
    outcome: List[Any] = []

    @scheduler.leader("fragile", ttl=0.3, retry_interval=5)
    def fragile() -> None:
        lease = current_lease()
        redis_client.delete(f"{prefix}:{{leader:fragile}}:run")  # taken away under us
        stopped = lease.wait(3)
        outcome.append((stopped, lease.lost))

    scheduler.start()
    _wait(lambda: outcome)
    assert outcome == [(True, True)]
    scheduler.shutdown()
    store.close()


async def test_async_leaders_run_on_the_loop_and_are_cancelled_at_shutdown(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler("asyncio")
    events: List[str] = []

    @scheduler.leader("pump", ttl=1.0)
    async def pump() -> None:
        events.append(f"lead:{current_lease().fencing_token is not None}")
        assert threading.current_thread() is threading.main_thread()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    scheduler.start()
    for _ in range(3000):  # up to 30 s
        if events:
            break
        await asyncio.sleep(0.01)
    assert events == ["lead:True"]
    assert await scheduler.aclose(3)
    assert events == ["lead:True", "cancelled"]
    assert scheduler.lock_store.status("leader:pump").holder is None


def test_leader_registration_errors(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()
    scheduler.leader("one")(lambda: None)
    with pytest.raises(ValueError, match="leader id 'one' is taken"):
        scheduler.leader("one")(lambda: None)

    async def coroutine() -> None:
        pass

    with pytest.raises(TypeError, match="register it on asyncio_scheduler"):
        scheduler.leader("two")(coroutine)
    with pytest.raises(TypeError, match="parentheses"):
        scheduler.leader(coroutine)
    with pytest.raises(ValueError, match="leader ttl=-1"):
        scheduler.leader("three", ttl=-1)(lambda: None)
