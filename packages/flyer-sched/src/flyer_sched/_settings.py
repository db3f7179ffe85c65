"""flyer-sched's settings: `flyer_sched_*` and the shared `flyer_redis_*` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from flyer_sched._store import DEFAULT_TTL

BACKENDS = ("auto", "redis", "file", "memory")
ON_STORE_ERROR = ("skip", "run")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _lower(environ: Optional[Mapping[str, str]]) -> Dict[str, str]:
    source = os.environ if environ is None else environ
    return {str(key).lower(): str(value) for key, value in source.items()}


def _choice(env: Mapping[str, str], name: str, default: str, allowed: Tuple[str, ...]) -> str:
    value = env.get(name, default).strip().lower() or default
    if value not in allowed:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= minimum or value == float("inf"):
        raise ValueError(f"{name}={raw!r}: expected a number >= {minimum:g}")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValueError(f"{name}={raw!r}: expected an integer {low}-{high}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={raw!r}: expected true/false (1/0, yes/no, on/off)")


def _timezone(env: Mapping[str, str]) -> str:
    value = env.get("flyer_sched_timezone", "").strip() or "UTC"
    from apscheduler.util import astimezone

    try:
        astimezone(value)
    except Exception:
        raise ValueError(
            f"flyer_sched_timezone={value!r}: expected an IANA time zone name such as "
            "'UTC' or 'Asia/Shanghai'"
        ) from None
    return value


@dataclass(frozen=True)
class SchedSettings:
    """Settings for the schedulers and their locks, read by `SchedSettings.from_env()`.

    Redis counts as configured when `flyer_redis_url` or `flyer_redis_host` is set; the lock
    backend `auto` then picks Redis, otherwise the file backend.
    """

    timezone: str = "UTC"
    enabled: bool = True
    lock_backend: str = "auto"
    lock_ttl: float = DEFAULT_TTL
    lock_prefix: str = "flyer:sched"
    lock_dir: Optional[str] = None
    on_store_error: str = "skip"
    shutdown_timeout: float = 10.0
    redis_url: Optional[str] = field(default=None, repr=False)
    redis_host: Optional[str] = None
    redis_port: int = 6379
    redis_pass: str = field(default="", repr=False)
    redis_db: int = 1

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> SchedSettings:
        """Read `flyer_*` variables (case-insensitive) from `environ` (default: `os.environ`)."""
        env = _lower(environ)
        prefix = env.get("flyer_sched_lock_prefix", "").strip() or "flyer:sched"
        lock_dir = env.get("flyer_sched_lock_dir", "").strip() or None
        return cls(
            timezone=_timezone(env),
            enabled=_flag(env, "flyer_sched_enabled", True),
            lock_backend=_choice(env, "flyer_sched_lock_backend", "auto", BACKENDS),
            lock_ttl=_number(env, "flyer_sched_lock_ttl", DEFAULT_TTL, minimum=0.1),
            lock_prefix=prefix,
            lock_dir=lock_dir,
            on_store_error=_choice(env, "flyer_sched_on_store_error", "skip", ON_STORE_ERROR),
            shutdown_timeout=_number(env, "flyer_sched_shutdown_timeout", 10.0, minimum=0),
            redis_url=env.get("flyer_redis_url", "").strip() or None,
            redis_host=env.get("flyer_redis_host", "").strip() or None,
            redis_port=_integer(env, "flyer_redis_port", 6379, 1, 65535),
            redis_pass=env.get("flyer_redis_pass", ""),
            redis_db=_integer(env, "flyer_redis_db", 1, 0, 1_000_000),
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
    """The variables flyer-sched reads, for `flyer config`."""
    return [
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
            "default": "4",
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
        {
            "name": "flyer_redis_url",
            "default": "",
            "secret": True,
            "help": "Redis URL of the lock store (wins over flyer_redis_host).",
        },
        {
            "name": "flyer_redis_host",
            "default": "",
            "secret": False,
            "help": "Redis host of the lock store.",
        },
        {"name": "flyer_redis_port", "default": "6379", "secret": False, "help": "Redis port."},
        {"name": "flyer_redis_pass", "default": "", "secret": True, "help": "Redis password."},
        {"name": "flyer_redis_db", "default": "1", "secret": False, "help": "Redis database."},
    ]
