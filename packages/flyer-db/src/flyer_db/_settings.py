"""flyer-db's settings, read from the ancestor's `flyer_db_*` variables (environment and `.env`)."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple, Union

from flyer_status import settings

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

DEFAULT_SQLITE_FILE = "flyer.db"
#: Seconds a readiness check (`check_engine`, the plugin's `check`) waits for `SELECT 1`.
DEFAULT_TIMEOUT = 2.0

_FIELDS: Tuple[Tuple[str, str, bool, str], ...] = (
    # (variable suffix, default as text, secret, help)
    (
        "url",
        "",
        True,
        "full database URL; wins over the parts below (sqlite://, mysql://, postgresql://)",
    ),
    ("user", "root", False, "MySQL/MariaDB user"),
    ("pass", "", True, "MySQL/MariaDB password"),
    ("host", "localhost", False, "MySQL/MariaDB host"),
    ("port", "3306", False, "MySQL/MariaDB port"),
    ("name", "flyer", False, "database name"),
    ("chartset", "utf8mb4", False, "connection character set (flyer_db_charset works too)"),
    (
        "recycle_rate",
        "900",
        False,
        "seconds after which a pooled connection is replaced (-1: never)",
    ),
    ("pool_size", "32", False, "connections kept open in the pool"),
    (
        "max_overflow",
        "64",
        False,
        "extra connections beyond pool_size (default: flyer_threads, else 64)",
    ),
)
# Setting any of these (or flyer_db_url) selects a server; with none set the embedded SQLite is used.
_SERVER_PARTS = ("user", "pass", "host", "port", "name")


def _secret(value: Union[settings.Secret, str, None]) -> Optional[settings.Secret]:
    if value is None or isinstance(value, settings.Secret):
        return value
    return settings.Secret(value)


@dataclasses.dataclass(frozen=True)
class DBSettings:
    """Where the database is and how the pool behaves; `DBSettings.from_env()` reads `flyer_db_*`.

    With neither `flyer_db_url` nor any of `flyer_db_user/pass/host/port/name` set, `url` is an
    embedded SQLite file `flyer.db` in the working directory, created on first use.
    """

    user: str = "root"
    # Secrets (`flyer_status.settings.Secret`; plain strings given here are wrapped).
    password: settings.Secret = dataclasses.field(default=settings.Secret(""), repr=False)
    host: str = "localhost"
    port: int = 3306
    name: str = "flyer"
    charset: str = "utf8mb4"
    recycle_rate: int = 900
    pool_size: int = 32
    max_overflow: int = 64
    database_url: Optional[settings.Secret] = dataclasses.field(default=None, repr=False)
    server: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "password", _secret(self.password) or settings.Secret(""))
        object.__setattr__(self, "database_url", _secret(self.database_url))

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> DBSettings:
        """Settings from `flyer_db_*` variables (case-insensitive); unset ones keep defaults.

        `environ` None reads the process environment over `./.env`, as an app would.
        `max_overflow` comes from `flyer_db_max_overflow`, else `flyer_threads` (as the
        ancestor read it), else 64. A bad value raises `flyer_status.SettingsError`, one line.
        """
        env = settings.environment(environ)
        found: Dict[str, Any] = {}
        for suffix, field in (("user", "user"), ("pass", "password"), ("host", "host")):
            if f"flyer_db_{suffix}" in env:
                found[field] = env[f"flyer_db_{suffix}"]
        if "flyer_db_name" in env:
            found["name"] = env["flyer_db_name"]
        found["port"] = env.port("flyer_db_port", cls.port)
        variable = "flyer_db_charset" if env.raw("flyer_db_charset") else "flyer_db_chartset"
        charset = env.text(variable, None)
        if charset is not None:
            if not charset.isidentifier():
                raise settings.SettingsError(
                    f"{variable}={env[variable]!r}: expected a character set name like utf8mb4"
                )
            found["charset"] = charset
        overflow = "flyer_db_max_overflow"
        if env.raw(overflow) is None and env.raw("flyer_threads") is not None:
            overflow = "flyer_threads"
        found["recycle_rate"] = env.integer("flyer_db_recycle_rate", cls.recycle_rate, -1)
        found["pool_size"] = env.integer("flyer_db_pool_size", cls.pool_size, 0)
        found["max_overflow"] = env.integer(overflow, cls.max_overflow, -1)
        url = env.text("flyer_db_url", None)
        if url is not None:
            from flyer_db._url import normalize_url

            try:
                normalize_url(url)  # fail at start-up, not on the first query
            except ValueError as exc:  # its text never holds the URL's password
                reason = str(exc)
                if reason.startswith("database URL: "):
                    reason = reason[len("database URL: ") :]
                raise settings.SettingsError(f"flyer_db_url: {reason}") from None
            found["database_url"] = url
        found["server"] = bool(url) or any(f"flyer_db_{part}" in env for part in _SERVER_PARTS)
        return cls(**found)

    @property
    def url(self) -> URL:
        """The URL to connect to: `flyer_db_url`, else MySQL from the parts, else SQLite."""
        from flyer_db._url import mysql_url, normalize_url

        if self.database_url:
            return normalize_url(self.database_url.get_secret_value())
        if self.server:
            return mysql_url(
                self.user,
                self.password.get_secret_value(),
                self.host,
                self.port,
                self.name,
                self.charset,
            )
        return normalize_url(f"sqlite:///{os.path.abspath(DEFAULT_SQLITE_FILE)}")

    def engine_kwargs(self) -> Dict[str, Any]:
        """Pool options for `create_engine(...)` (sizes are dropped for SQLite's own pools)."""
        return {
            "pool_recycle": self.recycle_rate,
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
        }

    def __repr__(self) -> str:
        from flyer_db._url import safe_url

        return (
            f"DBSettings(url={safe_url(self.url)!r}, recycle_rate={self.recycle_rate}, "
            f"pool_size={self.pool_size}, max_overflow={self.max_overflow})"
        )


_default_settings: Optional[DBSettings] = None


def default_settings() -> DBSettings:
    """What flyer-core's plugin read (`.env` included), else `DBSettings.from_env()`."""
    return _default_settings or DBSettings.from_env()


def set_default_settings(settings: Optional[DBSettings]) -> None:
    """Make `settings` what `get_engine()` and `get_session` use when given none."""
    global _default_settings
    _default_settings = settings


def settings_fields() -> List[Dict[str, Any]]:
    """The variables `DBSettings.from_env` reads, as `flyer config` lists them."""
    return [
        {"name": f"flyer_db_{suffix}", "default": default, "secret": secret, "help": text}
        for suffix, default, secret, text in _FIELDS
    ]


def parse_int(what: str, value: Union[int, str, None], minimum: int) -> Optional[int]:
    """An integer >= `minimum` from an int or a string (`getenv` gives strings); None for None."""
    if value is None:
        return None
    if not isinstance(value, bool) and isinstance(value, (int, str)):
        try:
            return settings.parse_integer(what, str(value), minimum)
        except settings.SettingsError:
            pass  # said below with the value as given (an int shows without quotes)
    raise settings.SettingsError(f"{what}={value!r}: expected an integer >= {minimum}")
