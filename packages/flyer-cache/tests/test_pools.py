"""get_redis_pool / from_url: shared, lazy, fork-safe sync clients with flyer's defaults."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from typing import Any, Callable

import pytest
import redis
import redis.connection

import flyer_cache
from flyer_cache import _pools, from_url, get_redis_pool
from flyer_cache._options import default_options


def _host_port(url: str) -> Any:
    parsed = redis.connection.parse_url(url)
    return parsed["host"], parsed["port"]


def test_ancestor_call_with_strings_from_getenv_works(redis_url: str, ns: str) -> None:
    host, port = _host_port(redis_url)
    # The ancestor's settings.py: getenv gives strings, the password defaults to "".
    redis_pool = get_redis_pool(host, str(port), "", "0")
    redis_pool.set(f"{ns}:a", 1, ex=30)
    assert redis_pool.get(f"{ns}:a") == b"1"
    assert redis_pool.delete(f"{ns}:a") == 1


def test_same_arguments_share_one_client_and_pool(redis_url: str) -> None:
    host, port = _host_port(redis_url)
    first = get_redis_pool(host, port, None, 0)
    assert get_redis_pool(host, str(port), "", "0") is first
    assert get_redis_pool(host, port, None, 0, decode_responses=True) is not first
    assert get_redis_pool(host, port, None, 1) is not first
    assert from_url(redis_url) is from_url(redis_url)
    assert from_url(redis_url).connection_pool is not first.connection_pool


def test_nothing_connects_until_the_first_command(free_port: int) -> None:
    client = get_redis_pool("127.0.0.1", free_port, None, 0)
    assert isinstance(client, redis.Redis)
    with pytest.raises(redis.ConnectionError):
        client.ping()


def test_flyer_defaults_apply_and_keyword_arguments_win(redis_url: str) -> None:
    host, port = _host_port(redis_url)
    options = get_redis_pool(host, port, None, 0).connection_pool.connection_kwargs
    assert options["socket_connect_timeout"] == default_options()["socket_connect_timeout"]
    assert options["socket_timeout"] == 5.0
    assert options["health_check_interval"] == 30
    assert redis.ConnectionError in options["retry_on_error"]
    custom = get_redis_pool(host, port, None, 0, socket_timeout=0.5, decode_responses=True)
    assert custom.connection_pool.connection_kwargs["socket_timeout"] == 0.5
    custom.set("flyer-cache-test:decode", "x", ex=5)
    assert custom.get("flyer-cache-test:decode") == "x"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", 6379, None, 0), "host=''"),
        (("h", "abc", None, 0), "port='abc': expected an integer 1-65535"),
        (("h", 70000, None, 0), "port=70000"),
        (("h", True, None, 0), "port=True"),
        (("h", 6379, None, "x"), "db='x': expected an integer >= 0"),
        (("h", 6379, None, -1), "db=-1"),
    ],
)
def test_bad_arguments_fail_in_one_line(args: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        get_redis_pool(*args)
    assert "\n" not in str(caught.value)


def test_from_url_rejects_other_schemes_without_showing_the_password() -> None:
    with pytest.raises(ValueError) as caught:
        from_url("http://user:s3cret@host:1/0")
    assert "s3cret" not in str(caught.value)
    assert "redis://" in str(caught.value)


def test_from_url_unix_socket(unix_redis: str) -> None:
    client = from_url(unix_redis)
    assert client.ping() is True
    assert client.set("k", "v") is True
    assert client.get("k") == b"v"


def test_from_url_tls(tls_redis: str) -> None:
    client = from_url(tls_redis)
    assert client.connection_pool.connection_class is redis.SSLConnection
    assert client.ping() is True
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_killed_connection_is_replaced_transparently(redis_url: str, admin: redis.Redis) -> None:
    # health_check_interval=0: the retry alone must recover (no PING before the command).
    client = from_url(redis_url, health_check_interval=0)
    first_id = client.client_id()
    assert admin.client_kill_filter(_id=first_id) == 1
    assert client.ping() is True
    assert client.client_id() != first_id


def test_killed_connection_is_replaced_with_default_options(
    redis_url: str, admin: redis.Redis, ns: str, redis_client: redis.Redis
) -> None:
    redis_client.set(f"{ns}:k", "v")
    first_id = redis_client.client_id()
    admin.client_kill_filter(_id=first_id)
    assert redis_client.get(f"{ns}:k") == b"v"


def _child(check: Any) -> None:
    """Run `check` in this forked child and leave with 0 when it passed, 1 otherwise."""
    code = 1
    try:
        check()
        code = 0
    finally:
        os._exit(code)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_pool_made_before_fork_works_in_child_and_parent(
    redis_client: redis.Redis, ns: str
) -> None:
    parent_id = redis_client.client_id()
    parent_socket = redis_client.connection_pool._available_connections[-1]._sock
    assert isinstance(parent_socket, socket.socket)

    def check() -> None:
        # The child opens its own connection (a new client id) and writes through it.
        child_id = redis_client.client_id()
        assert child_id != parent_id
        redis_client.set(f"{ns}:child", str(child_id))

    pid = os.fork()
    if pid == 0:
        _child(check)
    assert _wait_child(pid) == 0
    # The parent's connection is untouched: same server-side client, same socket.
    assert redis_client.client_id() == parent_id
    assert redis_client.connection_pool._available_connections[-1]._sock is parent_socket
    assert int(redis_client.get(f"{ns}:child") or 0) not in (0, parent_id)


def _wait_child(pid: int, timeout: float = 10.0) -> int:
    """The child's exit code; a child still running after `timeout` is killed (-9)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -9


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_child_forked_while_another_thread_holds_the_registry_lock_does_not_hang(
    redis_url: str,
) -> None:
    port = _host_port(redis_url)[1]
    get_redis_pool("127.0.0.1", port, None, 2)  # the registry lock now exists and is in use
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _pools._lock:
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(5)
        pid = os.fork()
        if pid == 0:
            _child(lambda: get_redis_pool("127.0.0.1", port, None, 3).ping())
    finally:
        release.set()
        thread.join(5)
    assert _wait_child(pid) == 0


def test_close_pools_disconnects_and_clients_keep_working(
    redis_url: str, admin: redis.Redis, ns: str, connection_gone: Callable[[str], bool]
) -> None:
    client = from_url(redis_url, client_name=ns.replace(":", "-"))
    client.ping()
    names = [c.get("name") for c in admin.client_list()]
    assert ns.replace(":", "-") in names
    flyer_cache.close_pools()
    assert connection_gone(ns.replace(":", "-"))
    assert client.ping() is True
