"""cached: hits, TTL, None, exceptions, invalidation, serialisation, stampede protection."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import pytest
import redis

from flyer_cache import (
    MemoryCache,
    RedisBackend,
    cache_result,
    cached,
    default_backend,
    set_default_backend,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counter:
    """Counts calls per argument, thread-safely."""

    def __init__(self) -> None:
        self.calls: List[Any] = []
        self._lock = threading.Lock()

    def hit(self, value: Any) -> None:
        with self._lock:
            self.calls.append(value)


def test_results_are_cached_per_arguments() -> None:
    counter = Counter()

    @cached(ttl=60, backend=MemoryCache())
    def double(x: int) -> int:
        counter.hit(x)
        return 2 * x

    assert [double(1), double(1), double(x=1), double(2)] == [2, 2, 2, 4]
    assert counter.calls == [1, 2]
    assert double.__name__ == "double"
    assert double.__wrapped__(5) == 10


def test_ttl_expiry_recomputes() -> None:
    clock = Clock()
    counter = Counter()

    @cached(ttl=datetime.timedelta(seconds=30), backend=MemoryCache(timer=clock))
    def value() -> str:
        counter.hit(None)
        return "v"

    value()
    clock.now += 29
    value()
    clock.now += 1
    value()
    assert len(counter.calls) == 2


def test_none_is_recomputed_unless_cache_none() -> None:
    counter = Counter()
    store = MemoryCache()

    @cached(backend=store)
    def nothing() -> None:
        counter.hit("plain")

    @cached(backend=store, cache_none=True)
    def cached_nothing() -> None:
        counter.hit("cache_none")

    for _ in range(3):
        assert nothing() is None
        assert cached_nothing() is None
    assert counter.calls.count("plain") == 3
    assert counter.calls.count("cache_none") == 1


def test_exceptions_are_never_cached() -> None:
    attempts = Counter()

    @cached(backend=MemoryCache())
    def flaky() -> str:
        attempts.hit(None)
        if len(attempts.calls) < 3:
            raise RuntimeError("not yet")
        return "ok"

    for _ in range(2):
        with pytest.raises(RuntimeError):
            flaky()
    assert flaky() == "ok"
    assert flaky() == "ok"
    assert len(attempts.calls) == 3


def test_invalidate_drops_one_entry() -> None:
    counter = Counter()

    @cached(backend=MemoryCache())
    def square(x: int) -> int:
        counter.hit(x)
        return x * x

    square(2)
    square(3)
    assert square.invalidate(x=2) is True
    assert square.invalidate(2) is False
    square(2)
    square(3)
    assert counter.calls == [2, 3, 2]


def test_json_round_trip_and_unserialisable_results() -> None:
    @cached(backend=MemoryCache())
    def data() -> Any:
        return {"t": (1, 2), "n": None}

    assert data() == {"t": (1, 2), "n": None}  # first call: the function's own value
    assert data() == {"t": [1, 2], "n": None}  # later calls: what JSON gives back

    @cached(backend=MemoryCache())
    def obj() -> Any:
        return object()

    with pytest.raises(TypeError, match=r"obj\): a result of type object cannot be stored as JSON"):
        obj()


def test_pickle_is_opt_in_and_round_trips_exactly() -> None:
    @cached(backend=MemoryCache(), serializer="pickle")
    def data() -> Any:
        return {"t": (1, 2), "when": datetime.date(2024, 1, 1)}

    data()
    assert data() == {"t": (1, 2), "when": datetime.date(2024, 1, 1)}

    with pytest.raises(ValueError, match="serializer='yaml'"):
        cached(serializer="yaml")  # type: ignore[arg-type]


def test_pickle_with_a_decoding_redis_client_is_refused(
    redis_url: str, redis_client: redis.Redis, ns: str
) -> None:
    decoding = RedisBackend.from_url(redis_url, decode_responses=True)
    with pytest.raises(ValueError, match="serializer='pickle' needs a Redis client"):
        cached(backend=decoding, serializer="pickle")
    set_default_backend(decoding)

    @cached(serializer="pickle", namespace=ns)
    def value() -> int:
        return 1

    with pytest.raises(ValueError, match="decode_responses=False"):
        value()

    @cached(namespace=ns)
    def text() -> str:
        return "ok"

    assert text() == text() == "ok"  # JSON works with str replies
    assert redis_client.get(text.cache_key()) == b'"ok"'


def test_unreadable_entry_is_recomputed_and_overwritten() -> None:
    store = MemoryCache()
    counter = Counter()

    @cached(backend=store)
    def value() -> int:
        counter.hit(None)
        return 42

    store.set(value.cache_key(), b"{not json")
    assert value() == 42
    assert value() == 42
    assert len(counter.calls) == 1


def test_namespace_separates_equal_functions() -> None:
    store = MemoryCache()

    def make(namespace: str) -> Callable[[], str]:
        @cached(backend=store, namespace=namespace, key="same")
        def which() -> str:
            return namespace

        return which

    a, b = make("a"), make("b")
    assert (a(), b(), a(), b()) == ("a", "b", "a", "b")
    assert a.cache_key() == "a:same"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": 0}, "ttl=0"),
        ({"ttl": "5"}, "ttl='5'"),
        ({"lock_timeout": None}, "lock_timeout=None"),
        ({"on_backend_error": "ignore"}, "on_backend_error='ignore'"),
        ({"backend": 5}, "backend=5"),
        ({"namespace": 1}, "namespace=1"),
    ],
)
def test_bad_options_fail_where_written(options: Dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        cached(**options)


def test_bare_decorator_and_ancestor_cache_result() -> None:
    counter = Counter()

    @cached
    def plain(x: int) -> int:
        counter.hit(("plain", x))
        return x

    @cache_result(60)
    def ancestor(x: int) -> int:
        counter.hit(("ancestor", x))
        return x

    assert (plain(1), plain(1), ancestor(1), ancestor(1)) == (1, 1, 1, 1)
    assert counter.calls == [("plain", 1), ("ancestor", 1)]


def test_default_store_is_memory_without_redis_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLYER_REDIS_HOST", raising=False)
    monkeypatch.delenv("FLYER_REDIS_URL", raising=False)
    monkeypatch.delenv("flyer_redis_host", raising=False)
    monkeypatch.delenv("flyer_redis_url", raising=False)
    store = default_backend()
    assert isinstance(store, MemoryCache)
    assert default_backend() is store


def test_default_store_is_redis_when_configured(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_client: redis.Redis, ns: str
) -> None:
    monkeypatch.setenv("FLYER_REDIS_URL", redis_url)
    assert isinstance(default_backend(), RedisBackend)

    @cached(namespace=ns)
    def value() -> int:
        return 7

    assert value() == 7
    assert redis_client.get(value.cache_key()) == b"7"


def test_set_default_backend_applies_to_functions_decorated_earlier() -> None:
    @cached
    def value() -> str:
        return "v"

    first, second = MemoryCache(), MemoryCache()
    set_default_backend(first)
    value()
    assert value.cache_key() in first
    set_default_backend(second)
    value()
    assert value.cache_key() in second


def test_methods_with_a_repr_or_a_key() -> None:
    class Repo:
        def __init__(self, name: str) -> None:
            self.name = name
            self.calls = 0

        def __repr__(self) -> str:
            return f"Repo({self.name!r})"

        @cached(backend=MemoryCache())
        def count(self, table: str) -> int:
            self.calls += 1
            return len(table)

    repo = Repo("main")
    assert repo.count("users") == repo.count("users") == 5
    assert repo.calls == 1
    assert Repo.count.invalidate(repo, "users") is True  # type: ignore[attr-defined]


# -- stampede protection ----------------------------------------------------------------


def _run_threads(count: int, target: Callable[[], Any]) -> List[Any]:
    barrier = threading.Barrier(count)
    results: List[Any] = []
    errors: List[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(10)
            results.append(target())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def test_stampede_memory_threads_compute_once_per_expiry() -> None:
    clock = Clock()
    counter = Counter()

    @cached(ttl=10, backend=MemoryCache(timer=clock))
    def slow() -> int:
        counter.hit(None)
        time.sleep(0.2)
        return 1

    assert _run_threads(12, slow) == [1] * 12
    assert len(counter.calls) == 1
    clock.now += 10  # expired: again exactly one recomputation
    assert _run_threads(12, slow) == [1] * 12
    assert len(counter.calls) == 2
    assert slow.cache.local.active() == []  # type: ignore[attr-defined]


def test_stampede_redis_across_independent_callers(redis_client: redis.Redis, ns: str) -> None:
    """Six "processes": separate decorated functions (no shared in-process lock), one key."""
    counter = Counter()
    backend = RedisBackend(redis_client)

    def make() -> Callable[[], int]:
        @cached(ttl=30, backend=backend, namespace=ns, key="shared")
        def slow() -> int:
            counter.hit(None)
            time.sleep(0.3)
            return 5

        return slow

    functions = [make() for _ in range(6)]
    index = iter(range(6))
    lock = threading.Lock()

    def call() -> int:
        with lock:
            function = functions[next(index)]
        return function()

    assert _run_threads(6, call) == [5] * 6
    assert len(counter.calls) == 1
    assert redis_client.exists(f"{ns}:shared:lock") == 0  # released by its owner


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_stampede_redis_real_processes(redis_client: redis.Redis, ns: str) -> None:
    """Four forked processes call one cached function at once: one computes (counted in Redis)."""
    counter_key = f"{ns}:computations"

    @cached(ttl=30, backend=RedisBackend(redis_client), namespace=ns)
    def slow() -> int:
        redis_client.incr(counter_key)
        time.sleep(0.3)
        return 9

    go_read, go_write = os.pipe()
    children = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(go_write)
                os.read(go_read, 1)  # wait for the start signal
                code = 0 if slow() == 9 else 1
            finally:
                os._exit(code)
        children.append(pid)
    os.close(go_read)
    os.write(go_write, b"go!!")
    os.close(go_write)
    codes = []
    deadline = time.monotonic() + 20
    for pid in children:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                codes.append(os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1)
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                codes.append(-9)
                break
            time.sleep(0.01)
    assert codes == [0, 0, 0, 0]
    assert redis_client.get(counter_key) == b"1"


def test_waiters_compute_themselves_after_lock_timeout(redis_client: redis.Redis, ns: str) -> None:
    """A holder that never finishes (a lock left by a crashed process) delays others by at
    most lock_timeout."""
    backend = RedisBackend(redis_client)

    @cached(ttl=30, backend=backend, namespace=ns, key="k", lock_timeout=0.3)
    def value() -> str:
        return "mine"

    redis_client.set(f"{ns}:k:lock", "someone-else", px=60_000)
    started = time.monotonic()
    assert value() == "mine"
    assert time.monotonic() - started >= 0.3
    assert redis_client.get(f"{ns}:k:lock") == b"someone-else"  # never removed another's lock


def test_failed_holder_lets_the_next_caller_compute(redis_client: redis.Redis, ns: str) -> None:
    attempts = Counter()

    @cached(ttl=30, backend=RedisBackend(redis_client), namespace=ns)
    def flaky() -> str:
        attempts.hit(None)
        time.sleep(0.1)
        if len(attempts.calls) == 1:
            raise RuntimeError("first caller fails")
        return "ok"

    outcomes: List[str] = []

    def call() -> str:
        try:
            return flaky()
        except RuntimeError:
            return "raised"

    outcomes = _run_threads(4, call)
    assert sorted(outcomes) == ["ok", "ok", "ok", "raised"]
    assert len(attempts.calls) == 2


# -- async --------------------------------------------------------------------------------


async def test_async_results_cached_and_invalidated() -> None:
    counter = Counter()

    @cached(backend=MemoryCache())
    async def fetch(x: int) -> Dict[str, int]:
        counter.hit(x)
        await asyncio.sleep(0)
        return {"x": x}

    assert await fetch(1) == await fetch(1) == {"x": 1}
    assert await fetch.invalidate(1) is True
    assert await fetch(1) == {"x": 1}
    assert counter.calls == [1, 1]


async def test_async_exceptions_not_cached() -> None:
    counter = Counter()

    @cached(backend=MemoryCache())
    async def broken() -> int:
        counter.hit(None)
        raise ValueError("no")

    for _ in range(2):
        with pytest.raises(ValueError):
            await broken()
    assert len(counter.calls) == 2


async def test_async_stampede_memory_tasks() -> None:
    counter = Counter()

    @cached(backend=MemoryCache())
    async def slow() -> int:
        counter.hit(None)
        await asyncio.sleep(0.2)
        return 3

    results = await asyncio.gather(*(slow() for _ in range(20)))
    assert results == [3] * 20
    assert len(counter.calls) == 1
    assert slow.cache.async_local.active() == []  # type: ignore[attr-defined]


async def test_async_stampede_redis_independent_callers(
    redis_url: str, redis_client: redis.Redis, ns: str, aclose: None
) -> None:
    counter = Counter()
    backend = RedisBackend.from_url(redis_url)

    def make() -> Any:
        @cached(ttl=30, backend=backend, namespace=ns, key="shared")
        async def slow() -> int:
            counter.hit(None)
            await asyncio.sleep(0.3)
            return 8

        return slow

    results = await asyncio.gather(*(make()() for _ in range(6)))
    assert results == [8] * 6
    assert len(counter.calls) == 1
    assert redis_client.get(f"{ns}:shared") == b"8"


async def test_async_with_sync_only_redis_backend_uses_a_thread(
    redis_client: redis.Redis, ns: str
) -> None:
    @cached(backend=redis_client, namespace=ns)
    async def value() -> List[int]:
        return [1, 2]

    assert await value() == [1, 2]
    assert redis_client.get(value.cache_key()) == b"[1,2]"
    assert await value.invalidate() is True


def test_redis_url_as_backend(redis_url: str, redis_client: redis.Redis, ns: str) -> None:
    @cached(backend=redis_url, namespace=ns, ttl=60)
    def value() -> Tuple[int, str]:
        return (1, "a")

    value()
    assert redis_client.get(value.cache_key()) == b'[1,"a"]'
    assert 0 < redis_client.pttl(value.cache_key()) <= 60_000


class _GatedLockBackend(RedisBackend):
    """Real Redis; a caller's lock attempt waits at a gate (as when its process is descheduled
    between missing the value and taking the lock, while another process stores the value)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrived = threading.Event()
        self.gate = threading.Event()
        self.agate = asyncio.Event()

    def add(self, key: str, value: Any, ttl: Any = None) -> bool:
        self.arrived.set()
        self.gate.wait(30)
        return super().add(key, value, ttl)

    async def aadd(self, key: str, value: Any, ttl: Any = None) -> bool:
        self.arrived.set()
        await asyncio.wait_for(self.agate.wait(), 30)
        return await super().aadd(key, value, ttl)


def test_a_caller_that_takes_the_lock_after_another_stored_the_value_does_not_recompute(
    redis_url: str, redis_client: redis.Redis, ns: str
) -> None:
    counter = Counter()

    def make(backend: Any) -> Any:
        @cached(ttl=30, backend=backend, namespace=ns, key="late")
        def compute() -> int:
            counter.hit(None)
            return 5

        return compute

    gated = _GatedLockBackend.from_url(redis_url)
    results: List[int] = []
    late = threading.Thread(target=lambda: results.append(make(gated)()))
    late.start()
    assert gated.arrived.wait(30)  # the late caller missed the value and waits at the lock
    assert make(RedisBackend.from_url(redis_url))() == 5  # another process computes and stores
    gated.gate.set()
    late.join(30)
    assert results == [5]
    assert len(counter.calls) == 1


async def test_async_caller_that_takes_the_lock_after_another_stored_the_value_does_not_recompute(
    redis_url: str, redis_client: redis.Redis, ns: str, aclose: None
) -> None:
    counter = Counter()
    gated = _GatedLockBackend.from_url(redis_url)

    def make(backend: Any) -> Any:
        @cached(ttl=30, backend=backend, namespace=ns, key="alate")
        async def compute() -> int:
            counter.hit(None)
            return 6

        return compute

    late = asyncio.ensure_future(make(gated)())
    for _ in range(3000):  # the late caller missed the value and waits at the lock
        if gated.arrived.is_set():
            break
        await asyncio.sleep(0.01)
    assert gated.arrived.is_set()
    assert await make(RedisBackend.from_url(redis_url))() == 6
    gated.agate.set()
    assert await late == 6
    assert len(counter.calls) == 1
