"""Database URLs: built from the ancestor's parts, drivers filled in, passwords kept out of text."""

from __future__ import annotations

import functools
import importlib.util
from typing import TYPE_CHECKING, Any, Optional, Union

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# The driver flyer's extras install for a URL that names none (`mysql://`, `postgresql://`).
_MYSQL_DRIVER = "pymysql"


def sa_version() -> str:
    """The SQLAlchemy version in use. SQLAlchemy is imported by the first call that needs it
    (a URL, an engine, a session), never by importing flyer-db."""
    import sqlalchemy

    return str(sqlalchemy.__version__)


@functools.lru_cache(maxsize=None)
def sa_major() -> int:
    """The SQLAlchemy's major version (1 or 2); asked per session, so remembered."""
    return int(sa_version().split(".")[0])


def _postgres_driver() -> str:
    return "psycopg" if sa_major() >= 2 else "psycopg2"


def parse_port(value: Any, what: str = "port", *, show: bool = True) -> Optional[int]:
    """An integer port 1-65535 from an int or a string (`getenv` gives strings); None for None.

    With `show=False` the error leaves the value out: in the ancestor's contradictory
    `get_dataset_pool(db_user, db_pass, ...)` order the port slot receives a password.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not isinstance(value, bool) and text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    shown = repr(value) if show else f"a {type(value).__name__} of length {len(text)}"
    raise ValueError(f"{what}={shown}: expected an integer 1-65535")


def mysql_url(
    user: Optional[str],
    password: Optional[str],
    host: Optional[str],
    port: Optional[int],
    name: Optional[str],
    charset: Optional[str] = None,
) -> URL:
    """A `mysql+pymysql://` URL from parts; special characters need no escaping, "" means none."""
    from sqlalchemy.engine import URL

    return URL.create(
        f"mysql+{_MYSQL_DRIVER}",
        username=user or None,
        password=password or None,
        host=host or None,
        port=port,
        database=name or None,
        query={"charset": charset} if charset else {},
    )


def normalize_url(url: Union[str, URL]) -> URL:
    """`url` as a SQLAlchemy URL whose driver is one flyer supports on this SQLAlchemy.

    `mysql://` and `mariadb://` get PyMySQL; `postgresql://` and `postgres://` get psycopg 3
    (psycopg2 on SQLAlchemy 1.4, which has no psycopg 3 dialect, so a `postgresql+psycopg://`
    URL also runs there). URLs naming any other driver are left as they are.
    """
    from sqlalchemy.engine import make_url

    if isinstance(url, str):
        text = url.strip()
        if text.startswith("postgres://"):
            text = "postgresql://" + text[len("postgres://") :]
        try:
            parsed = make_url(text)
        except Exception as error:  # SQLAlchemy raises ArgumentError; keep the URL out of the text
            raise ValueError(
                "database URL: expected dialect[+driver]://user:password@host:port/name "
                "or sqlite:///path"
            ) from error
    else:
        parsed = url
    backend, _, driver = parsed.drivername.partition("+")
    if backend in {"mysql", "mariadb"} and not driver:
        return parsed.set(drivername=f"{backend}+{_MYSQL_DRIVER}")
    if backend == "postgresql" and (not driver or (driver == "psycopg" and sa_major() < 2)):
        if driver == "psycopg" and importlib.util.find_spec("psycopg2") is None:
            raise ValueError(
                f"{safe_url(parsed)}: SQLAlchemy {sa_version()} has no psycopg 3 "
                "dialect; install psycopg2-binary (flyer-db[postgres] does on Python < 3.10)"
            )
        return parsed.set(drivername=f"postgresql+{_postgres_driver()}")
    return parsed


def safe_url(url: Union[str, URL]) -> str:
    """The URL as text with its password replaced by `***` (SQLAlchemy 1.4's `str()` shows it)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)
