"""The three lock stores obey one contract: ticks stay claimed, tokens guard renew and release."""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from flyer_sched import FileLockStore, LockStore, LockStoreError, MemoryLockStore, RedisLockStore

SECOND = 1_000_000
T0 = 1_700_000_000 * SECOND


@pytest.fixture(params=["memory", "file", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path, prefix: str) -> Iterator[LockStore]:
    if request.param == "memory":
        yield MemoryLockStore()
    elif request.param == "file":
        yield FileLockStore(str(tmp_path / "locks"), prefix=prefix)
    else:
        url = request.getfixturevalue("redis_url")
        redis_store = RedisLockStore(url=url, prefix=prefix)
        yield redis_store
        redis_store.close()


def _token() -> str:
    return uuid.uuid4().hex


def test_a_claimed_tick_stays_claimed_after_release(store: LockStore) -> None:
    first = store.claim("job:a", T0, "tok-a", "host:1", 5)
    assert first.acquired
    assert first.reason == "acquired"
    assert store.claim("job:a", T0, "tok-b", "host:2", 5).reason == "done"
    assert store.release("job:a", "tok-a")
    # A worker that fires late for the same tick (or an earlier one) cannot run it again.
    late = store.claim("job:a", T0, "tok-b", "host:2", 5)
    assert (late.acquired, late.reason, late.holder) == (False, "done", "host:1")
    assert store.claim("job:a", T0 - SECOND, "tok-c", "host:3", 5).reason == "done"
    nxt = store.claim("job:a", T0 + SECOND, "tok-b", "host:2", 5)
    assert nxt.acquired


def test_a_running_holder_blocks_the_next_tick_and_says_who_it_is(store: LockStore) -> None:
    assert store.claim("job:b", T0, "tok-a", "host:1", 5).acquired
    busy = store.claim("job:b", T0 + SECOND, "tok-b", "host:2", 5)
    assert (busy.acquired, busy.reason, busy.holder) == (False, "busy", "host:1")
    assert busy.expires_in is not None
    assert 0 < busy.expires_in <= 5
    status = store.status("job:b")
    assert status.holder == "host:1"
    assert status.last_tick is not None
    assert status.last_tick.timestamp() == T0 / SECOND


def test_only_the_token_holder_can_renew_or_release(store: LockStore) -> None:
    assert store.claim("job:c", T0, "tok-a", "host:1", 0.5).acquired
    assert store.renew("job:c", "tok-b", 5) is False
    assert store.release("job:c", "tok-b") is False
    assert store.status("job:c").holder == "host:1"
    assert store.renew("job:c", "tok-a", 5) is True
    time.sleep(0.6)  # past the original TTL: the renewal extended it
    assert store.status("job:c").holder == "host:1"
    assert store.release("job:c", "tok-a") is True
    assert store.status("job:c").holder is None
    assert store.release("job:c", "tok-a") is False


def test_a_dead_holders_lock_expires_after_its_ttl(store: LockStore) -> None:
    assert store.claim("job:d", T0, "tok-dead", "host:1", 0.3).acquired
    assert store.claim("job:d", T0 + SECOND, "tok-b", "host:2", 5).reason == "busy"
    time.sleep(0.4)
    assert store.claim("job:d", T0 + 2 * SECOND, "tok-b", "host:2", 5).acquired
    # The dead holder's token can neither renew nor release the new holder's lock.
    assert store.renew("job:d", "tok-dead", 5) is False
    assert store.release("job:d", "tok-dead") is False
    assert store.status("job:d").holder == "host:2"


def test_fencing_tokens_increase_with_every_claim(store: LockStore) -> None:
    fences = []
    for n in range(5):
        claim = store.claim("job:e", T0 + n * SECOND, f"tok-{n}", "host:1", 5)
        assert claim.acquired
        assert claim.fencing_token is not None
        fences.append(claim.fencing_token)
        assert store.release("job:e", f"tok-{n}")
    assert fences == sorted(set(fences))
    assert store.status("job:e").fencing_token == fences[-1]


def test_a_claim_without_a_tick_takes_only_the_run_lock(store: LockStore) -> None:
    assert store.claim("job:f", T0, "tok-a", "host:1", 5).acquired
    assert store.release("job:f", "tok-a")
    manual = store.claim("job:f", None, "tok-m", "host:1", 5)
    assert manual.acquired
    assert store.claim("job:f", None, "tok-n", "host:2", 5).reason == "busy"
    assert store.release("job:f", "tok-m")
    # The manual run did not move the tick mark: the next scheduled tick still runs.
    assert store.claim("job:f", T0 + SECOND, "tok-b", "host:2", 5).acquired


def test_pause_applies_to_every_claimant_until_resumed(store: LockStore) -> None:
    store.set_paused("job:g", True)
    assert store.claim("job:g", T0, "tok-a", "host:1", 5).reason == "paused"
    assert store.status("job:g").paused is True
    store.set_paused("job:g", False)
    assert store.claim("job:g", T0, "tok-a", "host:1", 5).acquired
    assert store.status("job:g").paused is False


def test_names_are_independent(store: LockStore) -> None:
    assert store.claim("job:x", T0, "tok-a", "host:1", 5).acquired
    assert store.claim("job:y", T0, "tok-b", "host:1", 5).acquired
    assert store.claim("leader:x", None, "tok-c", "host:1", 5).acquired
    assert store.ping()


def test_redis_claim_retried_with_the_same_token_is_still_ours(redis_url: str, prefix: str) -> None:
    store = RedisLockStore(url=redis_url, prefix=prefix)
    first = store.claim("job:r", T0, "tok-a", "host:1", 5)
    again = store.claim("job:r", T0, "tok-a", "host:1", 5)
    assert again.acquired
    assert again.fencing_token == first.fencing_token
    store.close()


def test_redis_scripts_work_after_a_script_flush(private_redises: Any) -> None:
    # A restarted or flushed Redis no longer knows the scripts' SHA1s: the store sends them again.
    import redis

    server = private_redises()
    store = RedisLockStore(url=server.url, prefix="flush")
    admin = redis.Redis.from_url(server.url)
    try:
        assert store.claim("job:f", T0, "tok-a", "host:1", 5).acquired
        assert store.release("job:f", "tok-a")
        admin.script_flush()
        assert store.claim("job:f", T0 + SECOND, "tok-b", "host:1", 5).acquired
        assert store.renew("job:f", "tok-b", 5)
        admin.script_flush()
        assert store.release("job:f", "tok-b")
        assert store.status("job:f").holder is None
    finally:
        admin.close()
        store.close()


def test_redis_fencing_survives_a_store_that_lost_its_keys(
    redis_url: str, prefix: str, redis_client: Any
) -> None:
    store = RedisLockStore(url=redis_url, prefix=prefix)
    before = store.claim("job:w", T0, "tok-a", "host:1", 5).fencing_token
    redis_client.delete(*redis_client.keys(f"{prefix}:*"))  # as after a restart without AOF
    after = store.claim("job:w", T0 + SECOND, "tok-b", "host:1", 5).fencing_token
    assert before is not None
    assert after is not None
    assert after > before
    store.close()


def test_redis_keys_share_a_cluster_slot_and_state_outlives_the_run_lock(
    redis_url: str, prefix: str, redis_client: Any
) -> None:
    store = RedisLockStore(url=redis_url, prefix=prefix)
    assert store.claim("job:app.jobs:sync", T0, "tok-a", "host:1", 5).acquired
    keys = sorted(k.decode() for k in redis_client.keys(f"{prefix}:*"))
    assert keys == [f"{prefix}:{{job:app.jobs:sync}}:run", f"{prefix}:{{job:app.jobs:sync}}:state"]
    assert 0 < redis_client.pttl(keys[0]) <= 5000
    assert redis_client.ttl(keys[1]) == -1
    store.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_redis_raises_lock_store_error() -> None:
    store = RedisLockStore(url=f"redis://127.0.0.1:{_closed_port()}/0")
    with pytest.raises(LockStoreError, match="redis lock store"):
        store.claim("job:z", T0, "tok", "host:1", 5)
    with pytest.raises(LockStoreError):
        store.status("job:z")
    assert store.ping() is False


def test_an_unusable_lock_directory_raises_lock_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    store = FileLockStore(str(blocker / "locks"))
    with pytest.raises(LockStoreError, match="file lock store"):
        store.claim("job:z", T0, "tok", "host:1", 5)
    assert store.ping() is False


def test_file_store_creates_a_private_directory_and_two_instances_agree(tmp_path: Path) -> None:
    directory = tmp_path / "locks"
    one, two = FileLockStore(str(directory)), FileLockStore(str(directory))
    assert one.claim("job:h", T0, "tok-a", "host:1", 5).acquired
    assert two.claim("job:h", T0, "tok-b", "host:2", 5).reason == "done"
    assert two.claim("job:h", T0 + SECOND, "tok-b", "host:2", 5).reason == "busy"
    assert (directory.stat().st_mode & 0o777) == 0o700
    long_name = "job:" + "x" * 400
    assert two.claim(long_name, T0, "tok-c", "host:2", 5).acquired
    assert all(len(p.name) < 200 for p in directory.iterdir())
    assert os.access(directory, os.W_OK)


def test_default_lock_directory_is_per_user(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    store = FileLockStore()
    assert store.directory == str(tmp_path / f"flyer-sched-{os.getuid()}")
    assert store.claim("job:i", T0, "tok", "host:1", 5).acquired


def test_redis_store_needs_a_client_or_url() -> None:
    with pytest.raises(ValueError, match="client or a url"):
        RedisLockStore()


def test_redis_client_comes_from_flyer_cache_when_installed(redis_url: str, prefix: str) -> None:
    flyer_cache = pytest.importorskip("flyer_cache")
    from flyer_sched import SchedSettings
    from flyer_sched._redis_store import client_from_settings

    settings = SchedSettings.from_env({"flyer_redis_url": redis_url})
    client = client_from_settings(settings)
    shared = flyer_cache.from_url(redis_url, socket_connect_timeout=2.0, socket_timeout=2.0)
    assert client is shared
    store = RedisLockStore(client, prefix=prefix)
    assert store.claim("job:cache", T0, "tok", "host:1", 5).acquired


def test_redis_client_falls_back_to_redis_py(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    from flyer_sched import SchedSettings
    from flyer_sched._redis_store import client_from_settings

    monkeypatch.setitem(sys.modules, "flyer_cache", None)  # as if not installed
    parsed = urllib.parse.urlsplit(redis_url)
    settings = SchedSettings.from_env(
        {
            "flyer_redis_host": parsed.hostname or "",
            "flyer_redis_port": str(parsed.port),
            "flyer_redis_db": "0",
        }
    )
    client = client_from_settings(settings)
    assert type(client) is redis.Redis
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 2.0
    store = RedisLockStore(client, prefix=prefix)
    assert store.claim("job:plain", T0, "tok", "host:1", 5).acquired
    client.close()


def test_the_redis_store_needs_redis_configured(make_scheduler: Any) -> None:
    scheduler = make_scheduler()
    with pytest.raises(ValueError, match="flyer_redis_url or flyer_redis_host"):
        scheduler.make_lock_store("redis")
