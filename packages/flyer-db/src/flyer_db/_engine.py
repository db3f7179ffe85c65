"""SQLAlchemy engines with flyer's pool defaults, and the ancestor's `get_mysql_pool`."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Dict, Hashable, NamedTuple, Optional, Tuple, Union

from flyer_db import _registry
from flyer_db._settings import DBSettings, parse_int

# The default settings live in `_settings`, so that flyer-core's plugin sets them without
# loading this module; named here too, where callers have found them.
from flyer_db._settings import default_settings as default_settings
from flyer_db._settings import set_default_settings as set_default_settings
from flyer_db._url import normalize_url, parse_port
from flyer_status.settings import Secret

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

CONNECT_TIMEOUT = 10  # seconds; libpq would otherwise wait forever for an unresponsive host

_lock = threading.Lock()
_shared: Dict[Hashable, Engine] = {}


def create_engine(
    url: Union[str, URL, None] = None,
    *,
    settings: Optional[DBSettings] = None,
    **kwargs: Any,
) -> Engine:
    """A new SQLAlchemy `Engine` for `url` with flyer's defaults; every keyword passes through.

    Defaults: `pool_pre_ping=True` (a connection killed while idle is replaced before use),
    `pool_recycle`, `pool_size` and `max_overflow` from `settings` (`DBSettings.from_env()` when
    not given: `flyer_db_recycle_rate`, `flyer_db_pool_size`, `flyer_db_max_overflow`), and a
    10 s connect timeout for MySQL/MariaDB and PostgreSQL. Without `url`, the settings' URL
    (the embedded SQLite file unless `flyer_db_*` names a server). SQLite keeps SQLAlchemy's own
    pool, so the pool sizes do not apply to it. The engine is fork-safe: a child process
    never reuses a connection its parent opened.
    """
    import sqlalchemy

    if settings is None:
        settings = default_settings()
    target, options = engine_options(url, settings, kwargs)
    return _registry.track(sqlalchemy.create_engine(target, **options))


def engine_options(
    url: Union[str, URL, None], settings: DBSettings, kwargs: Dict[str, Any]
) -> Tuple[URL, Dict[str, Any]]:
    """The normalized URL and the `sqlalchemy.create_engine` keywords `create_engine` uses."""
    target = normalize_url(url if url is not None else settings.url)
    options: Dict[str, Any] = {"pool_pre_ping": True, "pool_recycle": settings.recycle_rate}
    extra = dict(kwargs)
    backend = target.get_backend_name()
    if backend != "sqlite" and "poolclass" not in extra:
        options["pool_size"] = settings.pool_size
        options["max_overflow"] = settings.max_overflow
    if backend in {"mysql", "mariadb", "postgresql"} and "connect_timeout" not in target.query:
        connect_args = dict(extra.pop("connect_args", None) or {})
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT)
        options["connect_args"] = connect_args
    options.update(extra)
    return target, options


def get_mysql_pool(
    user: Optional[str] = None,
    password: Optional[str] = None,
    host: Optional[str] = None,
    port: Union[int, str, None] = None,
    name: Optional[str] = None,
    recycle_rate: Union[int, str, None] = None,
    pool_size: Union[int, str, None] = None,
    max_overflow: Union[int, str, None] = None,
    *,
    charset: Optional[str] = None,
    **kwargs: Any,
) -> Engine:
    """The ancestor's call, unchanged: a MySQL/MariaDB `Engine` (PyMySQL) on a shared pool.

    Arguments come in the ancestor's order and may be strings as `getenv` returns them; an
    empty password means none. Any argument left out comes from `DBSettings.from_env()`.
    The same arguments return the same engine, so calling it per request costs nothing.
    Extra keywords go to `create_engine`.
    """
    settings = settings_from_parts(
        ServerParts(
            user, password, host, port, name, recycle_rate, pool_size, max_overflow, charset
        )
    )
    return _shared_engine("mysql", settings.url, settings, kwargs)  # server=True: the parts


class ServerParts(NamedTuple):
    """The ancestor's arguments for a MySQL/MariaDB server; None: the default. Numbers may be
    strings as `getenv` returns them."""

    user: Optional[str]
    password: Optional[str]
    host: Optional[str]
    port: Union[int, str, None]
    name: Optional[str]
    recycle_rate: Union[int, str, None]
    pool_size: Union[int, str, None]
    max_overflow: Union[int, str, None]
    charset: Optional[str]


def settings_from_parts(parts: ServerParts, *, show_port: bool = True) -> DBSettings:
    """Settings for a MySQL/MariaDB server from the ancestor's arguments; None: the default."""
    defaults = default_settings()
    parsed_port = parse_port(parts.port, show=show_port)
    return DBSettings(
        user=defaults.user if parts.user is None else parts.user,
        password=defaults.password if parts.password is None else Secret(parts.password),
        host=defaults.host if parts.host is None else parts.host,
        port=defaults.port if parsed_port is None else parsed_port,
        name=defaults.name if parts.name is None else parts.name,
        charset=defaults.charset if parts.charset is None else parts.charset,
        recycle_rate=_or(parse_int("recycle_rate", parts.recycle_rate, -1), defaults.recycle_rate),
        pool_size=_or(parse_int("pool_size", parts.pool_size, 0), defaults.pool_size),
        max_overflow=_or(parse_int("max_overflow", parts.max_overflow, -1), defaults.max_overflow),
        server=True,
    )


def get_engine(settings: Optional[DBSettings] = None, **kwargs: Any) -> Engine:
    """The application's engine: one shared engine for `settings` (default: `flyer_db_*`).

    flyer-core's plugin makes the settings it read (`.env` included) the default.
    """
    if settings is None:
        settings = default_settings()
    url = settings.url
    return _shared_engine("settings", url, settings, kwargs)


def _shared_engine(kind: str, url: URL, settings: DBSettings, kwargs: Dict[str, Any]) -> Engine:
    key: Hashable = (
        kind,
        url.render_as_string(hide_password=False),
        tuple(sorted(settings.engine_kwargs().items())),
        tuple(sorted(kwargs.items())),
    )
    try:
        hash(key)
    except TypeError:  # unhashable options (a dict of connect_args): a private engine
        return create_engine(url, settings=settings, **kwargs)
    with _lock:
        engine = _shared.get(key)
        if engine is None:
            engine = _shared[key] = create_engine(url, settings=settings, **kwargs)
        return engine


def _or(value: Optional[int], default: int) -> int:
    return default if value is None else value
