"""Where Redis is, from the `flyer_redis_*` variables: `CacheSettings.from_env()`."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, List, Mapping, Optional

import redis
import redis.asyncio

from flyer_cache._async_pools import async_from_url, get_async_redis_pool
from flyer_cache._pools import from_url, get_redis_pool
from flyer_cache._urls import check_url, redact_url, url_scheme


def _integer(name: str, raw: str, low: int, high: Optional[int]) -> int:
    allowed = f"an integer {low}-{high}" if high is not None else f"an integer >= {low}"
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected {allowed}") from None
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name}={raw!r}: expected {allowed}")
    return value


@dataclasses.dataclass(frozen=True)
class CacheSettings:
    """Where Redis is: `CacheSettings.from_env()` reads the ancestor's variables.

    `flyer_redis_url` (any URL `from_url` takes) wins over `flyer_redis_host` (localhost),
    `flyer_redis_port` (6379), `flyer_redis_pass` (empty) and `flyer_redis_db` (1).
    Redis counts as configured when `flyer_redis_url` or `flyer_redis_host` is set;
    otherwise flyer caches in memory. Passwords never show in the repr.
    """

    host: str = "localhost"
    port: int = 6379
    password: Optional[str] = dataclasses.field(default=None, repr=False)
    db: int = 1
    url: Optional[str] = dataclasses.field(default=None, repr=False)
    configured: bool = False

    def __post_init__(self) -> None:
        if self.url is not None:
            url_scheme("url", self.url)

    def __repr__(self) -> str:
        if self.url:
            where = f"url={redact_url(self.url)!r}"
        else:
            secret = "***" if self.password else None
            where = f"host={self.host!r}, port={self.port!r}, db={self.db!r}, password={secret!r}"
        return f"CacheSettings({where}, configured={self.configured!r})"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> CacheSettings:
        """Settings from `environ` (default: `os.environ`), names matched case-insensitively.

        A bad value raises one `ValueError` line naming the variable, the value and what
        is allowed, e.g. `flyer_redis_port='abc': expected an integer 1-65535`.
        """
        source = os.environ if environ is None else environ
        env: Dict[str, str] = {key.lower(): value for key, value in source.items()}
        url = env.get("flyer_redis_url", "").strip()
        host = env.get("flyer_redis_host", "").strip()
        port = env.get("flyer_redis_port", "").strip()
        db = env.get("flyer_redis_db", "").strip()
        if url:
            check_url("flyer_redis_url", url)  # fail at start-up, never showing a password
        return cls(
            host=host or "localhost",
            port=_integer("flyer_redis_port", port, 1, 65535) if port else 6379,
            password=env.get("flyer_redis_pass") or None,
            db=_integer("flyer_redis_db", db, 0, None) if db else 1,
            url=url or None,
            configured=bool(url or host),
        )

    def client(self, **kwargs: Any) -> redis.Redis:
        """The shared client for these settings (`from_url` or `get_redis_pool`)."""
        if self.url:
            return from_url(self.url, **kwargs)
        return get_redis_pool(self.host, self.port, self.password, self.db, **kwargs)

    def async_client(self, **kwargs: Any) -> redis.asyncio.Redis:
        """The running event loop's shared asyncio client for these settings."""
        if self.url:
            return async_from_url(self.url, **kwargs)
        return get_async_redis_pool(self.host, self.port, self.password, self.db, **kwargs)


def settings_fields() -> List[Dict[str, Any]]:
    """Every `flyer_redis_*` variable: default, whether it is secret, and what it does."""
    return [
        {
            "name": "flyer_redis_url",
            "default": "",
            "secret": True,
            "help": "Redis URL (redis://, rediss://, unix://, redis+sentinel://); "
            "wins over the host/port/pass/db variables",
        },
        {
            "name": "flyer_redis_host",
            "default": "localhost",
            "secret": False,
            "help": "Redis host; setting it or the URL turns Redis on (else caches stay in memory)",
        },
        {"name": "flyer_redis_port", "default": "6379", "secret": False, "help": "Redis port"},
        {"name": "flyer_redis_pass", "default": "", "secret": True, "help": "Redis password"},
        {
            "name": "flyer_redis_db",
            "default": "1",
            "secret": False,
            "help": "Redis database number",
        },
    ]


def get_configured_redis(
    environ: Optional[Mapping[str, str]] = None, **kwargs: Any
) -> Optional[redis.Redis]:
    """The shared client for the configured Redis, or None when no Redis is configured."""
    settings = CacheSettings.from_env(environ)
    return settings.client(**kwargs) if settings.configured else None


def get_configured_async_redis(
    environ: Optional[Mapping[str, str]] = None, **kwargs: Any
) -> Optional[redis.asyncio.Redis]:
    """`get_configured_redis` for asyncio: the running loop's client, or None."""
    settings = CacheSettings.from_env(environ)
    return settings.async_client(**kwargs) if settings.configured else None
