"""The ancestor's `get_dataset_pool`: a shared `dataset` database that survives lost connections."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Dict, Optional, Union

from flyer_db._engine import ServerParts, default_settings, engine_options, settings_from_parts
from flyer_db._retry import RetryPolicy
from flyer_db._url import mysql_url

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from flyer_db._dataset_db import RetryingDatabase

_ORDER = "host, port, name, user, password, recycle_rate, pool_size"

_lock = threading.Lock()
_shared: Dict[str, RetryingDatabase] = {}


def get_dataset_pool(
    host: Optional[str] = None,
    port: Union[int, str, None] = None,
    name: Optional[str] = None,
    user: Optional[str] = None,
    password: Optional[str] = None,
    recycle_rate: Union[int, str, None] = None,
    pool_size: Union[int, str, None] = None,
    *,
    url: Union[str, URL, None] = None,
    max_overflow: Union[int, str, None] = None,
    charset: Optional[str] = None,
    retry: Optional[RetryPolicy] = None,
    engine_kwargs: Optional[Dict[str, Any]] = None,
    **database_kwargs: Any,
) -> RetryingDatabase:
    """The ancestor's call: a shared `dataset` database that reconnects and retries safely.

    Positional order: host, port, name, user, password, recycle_rate, pool_size (strings as
    `getenv` returns them are fine; an empty password means none), or keywords, or a URL
    (`url=...`, or a first argument containing `://`). Left-out parts come from `flyer_db_*`;
    with no arguments at all the settings' URL is used (the embedded SQLite file unless a
    server is configured). The same arguments return the same database object.
    `engine_kwargs` go to SQLAlchemy's `create_engine`, other keywords to `dataset.Database`
    (`schema`, `ensure_schema`, `row_type`...); `retry` is a `RetryPolicy`.
    """
    try:
        from flyer_db._dataset_db import RetryingDatabase
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "get_dataset_pool needs the dataset extra: pip install 'flyer-db[dataset]'"
        ) from error

    if url is None and host is not None and "://" in str(host):
        url, host = host, None
    given = any(part is not None for part in (host, port, name, user, password))
    if url is not None and given:
        raise ValueError(f"get_dataset_pool: pass url= or the parts ({_ORDER}), not both")
    try:
        parts = ServerParts(
            user, password, host, port, name, recycle_rate, pool_size, max_overflow, charset
        )
        settings = settings_from_parts(parts, show_port=False)
    except ValueError as error:
        raise ValueError(
            f"{error} (get_dataset_pool takes {_ORDER} in this order; keywords avoid mix-ups)"
        ) from None
    if url is not None:
        target: Union[str, URL] = url
    elif given:
        target = mysql_url(
            settings.user,
            settings.password.get_secret_value(),
            settings.host,
            settings.port,
            settings.name,
            settings.charset,
        )
    else:
        target = default_settings().url
    resolved, options = engine_options(target, settings, dict(engine_kwargs or {}))
    text = resolved.render_as_string(hide_password=False)
    key = repr((text, sorted(options.items()), retry, sorted(database_kwargs.items())))
    with _lock:
        database = _shared.get(key)
        if database is None or database.engine is None:  # none yet, or closed by its user
            database = _shared[key] = RetryingDatabase(
                text, retry=retry, engine_kwargs=options, **database_kwargs
            )
        return database
