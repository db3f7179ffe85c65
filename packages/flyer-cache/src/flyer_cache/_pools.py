"""Shared sync Redis clients: one connection pool per distinct set of arguments.

redis-py's `ConnectionPool` is fork-safe: each pool remembers the pid that made it, and a
pool used in a forked child drops the parent's connections (without touching the parent's
sockets) and opens its own. The registry here adds sharing (the same arguments give the same
client and pool) and laziness (nothing connects until the first command).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Generic, Hashable, Mapping, Optional, Tuple, TypeVar, Union

import redis
import redis.retry
import redis.sentinel
from redis.backoff import NoBackoff

from flyer_cache._forksafe import ForkSafeLock
from flyer_cache._options import merged_options
from flyer_cache._urls import SENTINEL_SCHEMES, SentinelURL, redact_url, url_scheme

_UNIX_ONLY_DROPPED = ("socket_keepalive", "socket_keepalive_options")


@dataclasses.dataclass(frozen=True)
class HostArgs:
    """The ancestor's four positional arguments, checked and normalised."""

    host: str
    port: int
    password: Optional[str]
    db: int


def host_args(
    function: str,
    host: Any,
    port: Any,
    password: Any,
    db: Any,
) -> HostArgs:
    """Check the ancestor's arguments; ports and dbs may be strings, as `getenv` gives them."""
    if not isinstance(host, str) or not host.strip():
        raise ValueError(f"{function}: host={host!r}: expected a host name or IP address")
    if password is not None and not isinstance(password, str):
        raise TypeError(f"{function}: password of type {type(password).__name__}: expected a str")
    return HostArgs(
        host=host.strip(),
        port=_number(function, "port", port, 1, 65535),
        password=password or None,
        db=_number(function, "db", db, 0, None),
    )


def _number(function: str, name: str, value: Any, low: int, high: Optional[int]) -> int:
    allowed = f"an integer {low}-{high}" if high is not None else f"an integer >= {low}"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{function}: {name}={value!r}: expected {allowed}")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{function}: {name}={value!r}: expected {allowed}") from None
    if number < low or (high is not None and number > high):
        raise ValueError(f"{function}: {name}={value!r}: expected {allowed}")
    return number


def freeze(value: Any) -> Hashable:
    """A hashable stand-in for keyword arguments: equal plain values give equal keys.

    Objects that are not plain data (retry policies, SSL contexts, credential providers)
    count by identity: the same object gives the same pool, an equal copy another.
    """
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return (type(value).__name__, value)
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(freeze(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(map(repr, (freeze(v) for v in value)))))
    if isinstance(value, type):
        return ("type", value.__module__, value.__qualname__)
    return ("object", id(value))


C = TypeVar("C")


@dataclasses.dataclass
class Entry(Generic[C]):
    """A shared client, sync or asyncio, and what it keeps alive."""

    client: C
    #: Other clients made for it (a sentinel's connections to the sentinels).
    extras: Tuple[C, ...] = ()
    #: Objects the key refers to by identity, kept alive so their ids stay unique.
    pinned: Any = None


@dataclasses.dataclass(frozen=True)
class Flavour:
    """The redis-py classes of one kind of client: sync, or asyncio."""

    redis: Any
    sentinel: Any  # untyped in redis-py
    retry: Any


SYNC = Flavour(redis.Redis, redis.sentinel.Sentinel, redis.retry.Retry)


def shared_entry(
    entries: Dict[Hashable, Entry[C]], key: Hashable, pinned: Any, make: Callable[[], Entry[C]]
) -> Entry[C]:
    """The entry of `key`, made (and pinning `pinned`) on first use; under the registry's lock."""
    entry = entries.get(key)
    if entry is None:
        entry = make()
        entry.pinned = pinned
        entries[key] = entry
    return entry


def host_entry(flavour: Flavour, args: HostArgs, options: Dict[str, Any]) -> Entry[Any]:
    """A client for the ancestor's four arguments, with `options` on top."""
    client = flavour.redis(
        host=args.host, port=args.port, password=args.password, db=args.db, **options
    )
    return Entry(client)


def url_entry(flavour: Flavour, url: str, scheme: str, options: Dict[str, Any]) -> Entry[Any]:
    """A client for `url` (already checked to have `scheme`), with `options` under its query."""
    if scheme in SENTINEL_SCHEMES:
        return _sentinel_entry(flavour, SentinelURL.parse(url), options)
    if scheme == "unix":
        for name in _UNIX_ONLY_DROPPED:
            options.pop(name, None)
    try:
        return Entry(flavour.redis.from_url(url, **options))
    except ValueError as exc:
        raise ValueError(f"url={redact_url(url)!r}: {exc}") from None


_lock = ForkSafeLock()
_entries: Dict[Hashable, Entry[redis.Redis]] = {}


def _shared(key: Hashable, pinned: Any, make: Callable[[], Entry[redis.Redis]]) -> redis.Redis:
    with _lock:
        return shared_entry(_entries, key, pinned, make).client


def get_redis_pool(
    host: str = "localhost",
    port: Union[int, str] = 6379,
    password: Optional[str] = None,
    db: Union[int, str] = 0,
    **kwargs: Any,
) -> redis.Redis:
    """A `redis.Redis` on the pool shared by every call with the same arguments.

    The ancestor's call works as it was: `get_redis_pool(host, port, password, db)`, with
    the port and db as strings and an empty password meaning none. Keyword arguments go to
    `redis.Redis` over flyer's defaults (timeouts, retries with backoff, health checks);
    `decode_responses=True` gives `str` replies. Nothing connects until the first command.
    """
    args = host_args("get_redis_pool", host, port, password, db)
    key = ("host", args.host, args.port, args.password, args.db, freeze(kwargs))

    return _shared(key, kwargs, lambda: host_entry(SYNC, args, merged_options(kwargs)))


def from_url(url: str, **kwargs: Any) -> redis.Redis:
    """A `redis.Redis` on the shared pool for `url` (and these keyword arguments).

    Takes `redis://`, `rediss://` (TLS), `unix://` and sentinel URLs
    (`redis+sentinel://[:password@]host[:port][,host[:port]...]/service[/db]`, or
    `rediss+sentinel://` for TLS to the master). Options in the URL's query win over
    keyword arguments, which win over flyer's defaults.
    """
    scheme = url_scheme("url", url)
    key = ("url", url, freeze(kwargs))

    return _shared(key, kwargs, lambda: url_entry(SYNC, url, scheme, merged_options(kwargs)))


def sentinel_arguments(
    parsed: SentinelURL, options: Dict[str, Any], no_retry: Any
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Keyword arguments for the sentinels' connections and for the master's.

    Queries to the sentinels are not retried (`no_retry`): the master's connection retries,
    with backoff, the whole discovery, and retrying both would multiply the attempts.
    """
    master = dict(options)
    master.update(parsed.connection_kwargs)
    master.update(db=parsed.db, username=parsed.username, password=parsed.password)
    if parsed.ssl:
        master["ssl"] = True
    sentinel: Dict[str, Any] = {
        name: master[name]
        for name in ("socket_connect_timeout", "socket_timeout", "socket_keepalive")
        if name in master
    }
    sentinel["retry"] = no_retry
    sentinel.update(parsed.sentinel_kwargs)
    return sentinel, master


def _sentinel_entry(flavour: Flavour, parsed: SentinelURL, options: Dict[str, Any]) -> Entry[Any]:
    no_retry = flavour.retry(NoBackoff(), 0)
    sentinel_kwargs, master_kwargs = sentinel_arguments(parsed, options, no_retry)
    sentinel = flavour.sentinel(
        parsed.sentinels,
        min_other_sentinels=parsed.min_other_sentinels,
        sentinel_kwargs=sentinel_kwargs,
    )
    client = sentinel.master_for(parsed.service_name, **master_kwargs)
    return Entry(client, extras=tuple(sentinel.sentinels))


def close_pools() -> None:
    """Close every connection of every shared sync pool (in this process).

    The clients stay usable: their next command opens a new connection. flyer's plugin
    calls this at shutdown.
    """
    with _lock:
        entries = list(_entries.values())
    for entry in entries:
        for client in (entry.client, *entry.extras):
            client.connection_pool.disconnect()
