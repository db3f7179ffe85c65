"""Where Redis is, from the `flyer_redis_*` variables: `CacheSettings.from_env()`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Union

from flyer_status import settings
from flyer_status.settings import Secret

if TYPE_CHECKING:
    import redis
    import redis.asyncio

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 6379
DEFAULT_DB = 1
#: Default deadline of a readiness check (`ping`, the plugin's `check`), in seconds.
DEFAULT_TIMEOUT = 1.0


def _secret(value: Union[Secret, str, None]) -> Optional[Secret]:
    if value is None or isinstance(value, Secret):
        return value or None
    return Secret(value) if value else None


def _reveal(value: Optional[Secret]) -> Optional[str]:
    return value.get_secret_value() if value else None


@dataclasses.dataclass(frozen=True)
class CacheSettings:
    """Where Redis is: `CacheSettings.from_env()` reads the ancestor's variables.

    `flyer_redis_url` (any URL `from_url` takes) wins over `flyer_redis_host` (localhost),
    `flyer_redis_port` (6379), `flyer_redis_pass` (empty) and `flyer_redis_db` (1).
    Redis counts as configured when `flyer_redis_url` or `flyer_redis_host` is set;
    otherwise flyer caches in memory. `password` and `url` (which may hold one) are
    `flyer_status.settings.Secret`s (plain strings given to the constructor are wrapped):
    they never show in the repr or `flyer config`.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    password: Optional[Secret] = dataclasses.field(default=None, repr=False)
    db: int = DEFAULT_DB
    url: Optional[Secret] = dataclasses.field(default=None, repr=False)
    configured: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "password", _secret(self.password))
        object.__setattr__(self, "url", _secret(self.url))
        if self.url is not None:
            from flyer_cache._urls import url_scheme

            url_scheme("url", self.url.get_secret_value())

    def __repr__(self) -> str:
        if self.url:
            from flyer_cache._urls import redact_url

            where = f"url={redact_url(self.url.get_secret_value())!r}"
        else:
            secret = "***" if self.password else None
            where = f"host={self.host!r}, port={self.port!r}, db={self.db!r}, password={secret!r}"
        return f"CacheSettings({where}, configured={self.configured!r})"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> CacheSettings:
        """Settings from `environ` (default: the process environment over `./.env`), names
        matched case-insensitively; unset or blank variables keep the defaults.

        A bad value raises `flyer_status.SettingsError` (a `ValueError`), one line naming the
        variable, the value and what is allowed, e.g. `flyer_redis_port='abc': expected an
        integer 1-65535`; a URL shows with its password masked.
        """
        env = settings.environment(environ)
        url = env.raw("flyer_redis_url")
        if url is not None:  # the URL checks are imported when there is a URL to check
            from flyer_cache._urls import URL_SCHEMES, check_url

            url = settings.parse_url("flyer_redis_url", url, URL_SCHEMES)
            try:  # fail at start-up, never showing a password
                check_url("flyer_redis_url", url)
            except ValueError as exc:
                raise settings.SettingsError(str(exc)) from None
        host = env.text("flyer_redis_host", None)
        return cls(
            host=host or DEFAULT_HOST,
            port=env.port("flyer_redis_port", DEFAULT_PORT),
            password=env.secret("flyer_redis_pass"),
            db=env.integer("flyer_redis_db", DEFAULT_DB, 0),
            url=_secret(url),
            configured=bool(url or host),
        )

    def client(self, **kwargs: Any) -> redis.Redis:
        """The shared client for these settings (`from_url` or `get_redis_pool`)."""
        from flyer_cache._pools import from_url, get_redis_pool

        if self.url:
            return from_url(self.url.get_secret_value(), **kwargs)
        return get_redis_pool(self.host, self.port, _reveal(self.password), self.db, **kwargs)

    def async_client(self, **kwargs: Any) -> redis.asyncio.Redis:
        """The running event loop's shared asyncio client for these settings."""
        from flyer_cache._async_pools import async_from_url, get_async_redis_pool

        if self.url:
            return async_from_url(self.url.get_secret_value(), **kwargs)
        return get_async_redis_pool(self.host, self.port, _reveal(self.password), self.db, **kwargs)


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
            "default": DEFAULT_HOST,
            "secret": False,
            "help": "Redis host; setting it or the URL turns Redis on (else caches stay in memory)",
        },
        {
            "name": "flyer_redis_port",
            "default": str(DEFAULT_PORT),
            "secret": False,
            "help": "Redis port",
        },
        {"name": "flyer_redis_pass", "default": "", "secret": True, "help": "Redis password"},
        {
            "name": "flyer_redis_db",
            "default": str(DEFAULT_DB),
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
