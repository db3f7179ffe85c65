"""flyer-sched's settings: `flyer_sched_*` and the shared `flyer_redis_*` variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Union

from flyer_status import settings
from flyer_status.settings import Secret

#: Seconds a lock or lease lives without renewal unless configured (`flyer_sched_lock_ttl`): a
#: holder that dies blocks its job for at most this long, and a 1 s job runs again within 5 s.
DEFAULT_TTL = 4.0
BACKENDS = ("auto", "redis", "file", "memory")
ON_STORE_ERROR = ("skip", "run")
# flyer-cache owns `flyer_redis_*`; without it installed these are read by the same rules
# with the same defaults (a test compares both ways).
_REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel")
_REDIS_HOST, _REDIS_PORT, _REDIS_DB = "localhost", 6379, 1


# Zone names APScheduler accepted in this process ("UTC" it takes as is, by every release's
# rule): a name is resolved once, not at every read of the settings.
_ZONES_OK = {"UTC"}


def _timezone(env: settings.Environment) -> str:
    value = env.text("flyer_sched_timezone", "UTC")
    if value in _ZONES_OK:
        return value
    # APScheduler's `astimezone` is the rule (zoneinfo in 3.11, pytz in 3.10).
    from apscheduler.util import astimezone

    try:
        astimezone(value)
    except Exception:
        raise settings.SettingsError(
            f"flyer_sched_timezone={value!r}: expected an IANA time zone name such as "
            "'UTC' or 'Asia/Shanghai'"
        ) from None
    _ZONES_OK.add(value)
    return value


def redis_fields(env: settings.Environment) -> Dict[str, Any]:
    """SchedSettings' `redis_*` fields from `flyer_redis_*`, read by flyer-cache (their owner)
    when it is installed, else by `redis_fields_alone`."""
    try:
        from flyer_cache import CacheSettings
    except ImportError:
        return redis_fields_alone(env)
    cache = CacheSettings.from_env(env)
    return {
        "redis_url": cache.url,
        "redis_host": cache.host if cache.configured else None,
        "redis_port": cache.port,
        "redis_pass": cache.password,
        "redis_db": cache.db,
    }


def redis_fields_alone(env: settings.Environment) -> Dict[str, Any]:
    """`redis_fields` without flyer-cache: flyer-cache's rules and defaults, by the toolkit."""
    url = env.url("flyer_redis_url", _REDIS_SCHEMES)
    host = env.text("flyer_redis_host", None)
    return {
        "redis_url": Secret(url) if url else None,
        "redis_host": (host or _REDIS_HOST) if (url or host) else None,
        "redis_port": env.port("flyer_redis_port", _REDIS_PORT),
        "redis_pass": env.secret("flyer_redis_pass"),
        "redis_db": env.integer("flyer_redis_db", _REDIS_DB, 0),
    }


@dataclass(frozen=True)
class SchedSettings:
    """Settings for the schedulers and their locks, read by `SchedSettings.from_env()`.

    Redis counts as configured when `flyer_redis_url` or `flyer_redis_host` is set; the lock
    backend `auto` then picks Redis, otherwise the file backend. `redis_url` and `redis_pass`
    are `flyer_status.settings.Secret`s: never in the repr.
    """

    timezone: str = "UTC"
    enabled: bool = True
    lock_backend: str = "auto"
    lock_ttl: float = DEFAULT_TTL
    lock_prefix: str = "flyer:sched"
    lock_dir: Optional[str] = None
    on_store_error: str = "skip"
    shutdown_timeout: float = 10.0
    redis_url: Optional[Secret] = field(default=None, repr=False)
    redis_host: Optional[str] = None
    redis_port: int = 6379
    redis_pass: Optional[Secret] = field(default=None, repr=False)
    redis_db: int = 1

    def __post_init__(self) -> None:
        for name in ("redis_url", "redis_pass"):  # plain strings are accepted, kept secret
            value: Union[Secret, str, None] = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Secret(value) if value else None)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> SchedSettings:
        """Read `flyer_*` variables (case-insensitive) from `environ` (default: the process
        environment over `./.env`, as an app would). `flyer_redis_*` are read by flyer-cache
        when it is installed (they are its settings), by the same rules otherwise.

        A bad value raises `flyer_status.SettingsError` (a `ValueError`), one line.
        """
        env = settings.environment(environ)
        return cls(
            timezone=_timezone(env),
            enabled=env.boolean("flyer_sched_enabled", cls.enabled),
            lock_backend=env.choice("flyer_sched_lock_backend", cls.lock_backend, BACKENDS),
            lock_ttl=env.number("flyer_sched_lock_ttl", cls.lock_ttl, 0.1),
            lock_prefix=env.text("flyer_sched_lock_prefix", cls.lock_prefix),
            lock_dir=env.text("flyer_sched_lock_dir", None),
            on_store_error=env.choice(
                "flyer_sched_on_store_error", cls.on_store_error, ON_STORE_ERROR
            ),
            shutdown_timeout=env.number("flyer_sched_shutdown_timeout", cls.shutdown_timeout),
            **redis_fields(env),
        )

    @property
    def redis_configured(self) -> bool:
        """Whether `flyer_redis_url` or `flyer_redis_host` names a Redis server."""
        return bool(self.redis_url or self.redis_host)

    @property
    def backend(self) -> str:
        """The lock backend in force: `auto` resolved to `redis` or `file`."""
        if self.lock_backend != "auto":
            return self.lock_backend
        return "redis" if self.redis_configured else "file"


def settings_fields() -> List[Dict[str, Any]]:
    """The variables flyer-sched reads, for `flyer config`: its own, then `flyer_redis_*` as
    flyer-cache (their owner) describes them."""
    return _SCHED_FIELDS + _redis_settings_fields()


def _redis_settings_fields() -> List[Dict[str, Any]]:
    try:
        from flyer_cache import CachePlugin
    except ImportError:
        return [
            {"name": "flyer_redis_url", "default": "", "secret": True, "help": "Redis URL."},
            {
                "name": "flyer_redis_host",
                "default": _REDIS_HOST,
                "secret": False,
                "help": "Redis host; setting it or the URL makes Redis the lock store.",
            },
            {
                "name": "flyer_redis_port",
                "default": str(_REDIS_PORT),
                "secret": False,
                "help": "Redis port.",
            },
            {"name": "flyer_redis_pass", "default": "", "secret": True, "help": "Redis password."},
            {
                "name": "flyer_redis_db",
                "default": str(_REDIS_DB),
                "secret": False,
                "help": "Redis database number.",
            },
        ]
    return CachePlugin().settings_fields()


_SCHED_FIELDS: List[Dict[str, Any]] = [
    {
        "name": "flyer_sched_enabled",
        "default": "true",
        "secret": False,
        "help": "Start the schedulers with the app.",
    },
    {
        "name": "flyer_sched_timezone",
        "default": "UTC",
        "secret": False,
        "help": "Default time zone of triggers (IANA name).",
    },
    {
        "name": "flyer_sched_lock_backend",
        "default": "auto",
        "secret": False,
        "help": "Lock store of @lock and @leader: auto (redis when configured, else file), "
        "redis, file or memory.",
    },
    {
        "name": "flyer_sched_lock_ttl",
        "default": settings.default_text(DEFAULT_TTL),
        "secret": False,
        "help": "Seconds a lock or lease lives without renewal (a dead holder blocks its job "
        "this long); renewed every ttl/4 while held.",
    },
    {
        "name": "flyer_sched_lock_prefix",
        "default": "flyer:sched",
        "secret": False,
        "help": "Prefix of lock keys (Redis) and lock files (file backend).",
    },
    {
        "name": "flyer_sched_lock_dir",
        "default": "<temp dir>/flyer-sched-<uid>",
        "secret": False,
        "help": "Directory of the file backend's lock files.",
    },
    {
        "name": "flyer_sched_on_store_error",
        "default": "skip",
        "secret": False,
        "help": "When the lock store is unreachable: skip the tick, or run without the lock.",
    },
    {
        "name": "flyer_sched_shutdown_timeout",
        "default": "10",
        "secret": False,
        "help": "Seconds shutdown waits for running jobs.",
    },
]
