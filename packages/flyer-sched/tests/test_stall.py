"""Redis frozen with SIGSTOP under four processes running a 1 s locked job, then thawed.

While the server is stopped the kernel still accepts connections and queues what the clients
send; the clients give up on their socket timeout (2 s) and retry. When the server resumes it
runs every queued claim. None of those may leave a lock behind: the job must run again at the
first or second tick after Redis answers, and no tick may run twice.

Each scenario gets its own redis-server; the scenarios run at once (module fixture) so the
module costs about as long as the longest freeze.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from concurrent.futures import Future
from typing import Any, Callable, Dict

import pytest

pytestmark = pytest.mark.slow

SOCKET_TIMEOUT = 2.0  # the Redis lock store's client timeout
FREEZES = {"2x": 2 * SOCKET_TIMEOUT + 0.5, "10x": 10 * SOCKET_TIMEOUT + 0.5}


def _run(target: Callable[..., Dict[str, Any]], *args: Any) -> Future[Dict[str, Any]]:
    future: Future[Dict[str, Any]] = Future()

    def body() -> None:
        try:
            future.set_result(target(*args))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=body, daemon=True).start()
    return future


def frozen(fleet: Any, server: Any, seconds: float) -> Dict[str, Any]:
    config = {
        "mode": "lock",
        "scheduler": "background",
        "job_id": "stall:tick",
        "interval": 1,
        "duration": 180,
        "job_seconds": 0.05,
        "misfire_grace_time": 5,
    }
    env = {"FLYER_REDIS_URL": server.url}
    procs = [fleet.spawn(config, env) for _ in range(4)]
    fleet.wait_for(lambda rows: len([r for r in rows if r["event"] == "ready"]) == 4, 60)
    fleet.wait_for(lambda rows: len([r for r in rows if r["event"] == "start"]) >= 2, 30)
    server.freeze()
    down = time.time()
    time.sleep(seconds)
    server.thaw()
    up = time.time()
    # Bounded: the ticks after the thaw must show up; 30 s is far more than they need.
    last = math.ceil(up) + 4

    def ran_after(rows: Any) -> bool:
        return any(r["event"] == "start" and r["tick"] / 1e6 >= last for r in rows)

    try:
        fleet.wait_for(ran_after, 40)
    finally:
        for proc in procs:
            proc.terminate()
        codes = fleet.wait_all(30)
    return {
        "codes": codes,
        "records": fleet.records(),
        "logs": fleet.logs(),
        "down": down,
        "up": up,
    }


@pytest.fixture(scope="module")
def scenarios(
    fleets: Callable[[str], Any], private_redises: Callable[[], Any]
) -> Dict[str, Future[Dict[str, Any]]]:
    return {
        name: _run(frozen, fleets(f"stall-{name}"), private_redises(), seconds)
        for name, seconds in FREEZES.items()
    }


@pytest.mark.parametrize("name", sorted(FREEZES))
def test_after_a_freeze_the_job_runs_within_two_ticks_and_never_twice(
    scenarios: Dict[str, Future[Dict[str, Any]]], name: str
) -> None:
    result = scenarios[name].result(timeout=240)
    assert result["codes"] == [0, 0, 0, 0], result["logs"][-20:]
    starts = [r for r in result["records"] if r["event"] == "start"]
    ticks = Counter(r["tick"] for r in starts)
    assert [t for t, n in ticks.items() if n > 1] == [], "a tick ran twice"
    down, up = result["down"], result["up"]
    # A fencing token is the Redis clock at the claim: nothing was claimed while frozen.
    assert [r for r in starts if down + 0.01 < r["fence"] / 1e6 < up - 0.01] == []
    after = sorted(r["tick"] / 1e6 for r in starts if r["tick"] / 1e6 >= up)
    assert after, "nothing ran after Redis answered again"
    first_tick = math.ceil(up)
    missed = len([t for t in range(first_tick, int(after[0])) if t * 1_000_000 not in ticks])
    print(f"freeze {name}: first run after the thaw: tick +{after[0] - up:.2f}s, {missed} missed")
    assert after[0] <= first_tick + 1, (
        f"first run after the thaw was for tick {after[0] - up:.1f}s after it "
        f"(ticks at {first_tick - up:.2f}s and {first_tick + 1 - up:.2f}s expected)"
    )


def _claim_while_frozen(server: Any, store: Any, name: str, seconds: float) -> Any:
    """Freeze the server, claim (the client times out), thaw after `seconds`."""
    from flyer_sched import LockStoreError

    server.freeze()
    try:
        with pytest.raises(LockStoreError):
            store.claim(name, 1_000_000, "a" * 32, "h:1", 30.0)
    finally:
        time.sleep(seconds)
        server.thaw()


def test_a_claim_that_reaches_redis_after_its_deadline_takes_nothing(
    private_redises: Callable[[], Any],
) -> None:
    import redis

    from flyer_sched import RedisLockStore

    server = private_redises()
    client = redis.Redis.from_url(server.url, socket_timeout=0.4)
    store = RedisLockStore(client, prefix="stall")
    assert store.claim_timeout == pytest.approx(0.2)
    assert store.claim("warm", None, "w" * 32, "h:1", 1.0).acquired  # learns Redis's clock
    _claim_while_frozen(server, store, "job:a", 1.0)
    # The queued claim ran when Redis resumed, past its deadline: no lock, no tick recorded.
    status = store.status("job:a")
    assert (status.holder, status.last_tick) == (None, None)
    claim = store.claim("job:a", 2_000_000, "b" * 32, "h:2", 30.0)
    assert claim.acquired
    client.close()


class _NoDeadline:
    claim_timeout = None


def test_an_abandoned_claim_that_took_the_lock_is_released_once_redis_answers(
    private_redises: Callable[[], Any],
) -> None:
    import redis

    from flyer_sched import RedisLockStore

    class Store(_NoDeadline, RedisLockStore):  # type: ignore[misc]
        """No deadline: the stale claim takes the lock when Redis resumes."""

    server = private_redises()
    client = redis.Redis.from_url(server.url, socket_timeout=0.4)
    store = Store(client, prefix="stall")
    assert store.claim("warm", None, "w" * 32, "h:1", 1.0).acquired  # the script is loaded
    _claim_while_frozen(server, store, "job:b", 1.0)
    time.sleep(0.2)
    assert store.status("job:b").holder == "h:1"  # left behind by the abandoned claim
    claim = store.claim("job:b", 2_000_000, "b" * 32, "h:2", 30.0)
    assert (claim.acquired, claim.reason) == (True, "acquired")
    client.close()
