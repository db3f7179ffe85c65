"""MemoryCache: TTLs, LRU bound, add / delete_if_equal, thread safety, awaitable twins."""

from __future__ import annotations

import math
import threading
from typing import List

import pytest

from flyer_cache import CacheBackend, MemoryCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_get_set_with_ttl() -> None:
    clock = Clock()
    cache = MemoryCache(timer=clock)
    cache.set("a", {"x": 1}, ttl=10)
    cache.set("b", 2)
    assert cache.get("a") == {"x": 1}
    assert cache.ttl("a") == 10
    assert cache.ttl("b") == math.inf
    assert cache.ttl("missing") is None
    clock.now += 9.999
    assert "a" in cache
    clock.now += 0.001
    assert cache.get("a") is None
    assert cache.get("a", "dflt") == "dflt"
    assert "a" not in cache
    assert cache.get("b") == 2
    assert len(cache) == 1


def test_default_ttl_applies_when_none_given() -> None:
    clock = Clock()
    cache = MemoryCache(default_ttl=5, timer=clock)
    cache.set("a", 1)
    clock.now += 5
    assert cache.get("a") is None


def test_lru_bound_evicts_least_recently_used() -> None:
    cache = MemoryCache(maxsize=3)
    for key in "abc":
        cache.set(key, key)
    assert cache.get("a") == "a"  # a is now the most recently used
    cache.set("d", "d")
    assert "b" not in cache
    assert [k for k in "acd" if k in cache] == ["a", "c", "d"]


def test_expired_entries_are_swept_on_writes() -> None:
    clock = Clock()
    cache = MemoryCache(maxsize=None, timer=clock)
    for i in range(1000):
        cache.set(f"old{i}", i, ttl=1)
    clock.now += 2
    for i in range(100):
        cache.set(f"new{i}", i)
    assert len(cache._data) == 100  # the 1000 expired entries are gone, not just hidden


def test_add_and_delete_if_equal() -> None:
    clock = Clock()
    cache = MemoryCache(timer=clock)
    assert cache.add("lock", "t1", ttl=5) is True
    assert cache.add("lock", "t2", ttl=5) is False
    assert cache.delete_if_equal("lock", "t2") is False
    assert cache.get("lock") == "t1"
    assert cache.delete_if_equal("lock", "t1") is True
    assert cache.add("lock", "t2", ttl=5) is True
    clock.now += 5
    assert cache.add("lock", "t3", ttl=5) is True  # expired locks can be taken again


def test_delete_counts_live_entries_and_clear() -> None:
    cache = MemoryCache()
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.delete("a", "b", "c") == 2
    cache.set("a", 1)
    cache.clear()
    assert len(cache) == 0


@pytest.mark.parametrize("ttl", [0, -1, "5", True, float("nan")])
def test_bad_ttl_fails_in_one_line(ttl: object) -> None:
    with pytest.raises(ValueError, match=r"ttl=.*expected a number of seconds > 0"):
        MemoryCache().set("a", 1, ttl=ttl)  # type: ignore[arg-type]


@pytest.mark.parametrize("maxsize", [0, -5, 1.5, "10"])
def test_bad_maxsize(maxsize: object) -> None:
    with pytest.raises(ValueError, match="maxsize="):
        MemoryCache(maxsize=maxsize)  # type: ignore[arg-type]


def test_exactly_one_thread_wins_add() -> None:
    cache = MemoryCache()
    barrier = threading.Barrier(16)
    wins: List[bool] = []

    def race() -> None:
        barrier.wait()
        wins.append(cache.add("lock", threading.get_ident(), ttl=30))

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(wins) == [False] * 15 + [True]


async def test_awaitable_twins() -> None:
    cache = MemoryCache()
    assert isinstance(cache, CacheBackend)
    await cache.aset("a", b"1", ttl=5)
    assert await cache.aget("a") == b"1"
    assert await cache.aadd("a", b"2") is False
    assert await cache.adelete_if_equal("a", b"1") is True
    assert await cache.adelete("a") == 0


def test_repr() -> None:
    assert repr(MemoryCache(maxsize=5, default_ttl=2)) == "MemoryCache(maxsize=5, default_ttl=2.0)"
