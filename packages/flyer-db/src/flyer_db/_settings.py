"""flyer-db's settings, read from the ancestor's `flyer_db_*` variables (the environment by default)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from sqlalchemy.engine import URL

from flyer_db._url import mysql_url, normalize_url, parse_port, safe_url

DEFAULT_SQLITE_FILE = "flyer.db"

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


@dataclasses.dataclass(frozen=True)
class DBSettings:
    """Where the database is and how the pool behaves; `DBSettings.from_env()` reads `flyer_db_*`.

    With neither `flyer_db_url` nor any of `flyer_db_user/pass/host/port/name` set, `url` is an
    embedded SQLite file `flyer.db` in the working directory, created on first use.
    """

    user: str = "root"
    password: str = dataclasses.field(default="", repr=False)
    host: str = "localhost"
    port: int = 3306
    name: str = "flyer"
    charset: str = "utf8mb4"
    recycle_rate: int = 900
    pool_size: int = 32
    max_overflow: int = 64
    database_url: Optional[str] = dataclasses.field(default=None, repr=False)
    server: bool = False

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> DBSettings:
        """Settings from `flyer_db_*` variables (case-insensitive); unset ones keep defaults.

        `max_overflow` comes from `flyer_db_max_overflow`, else `flyer_threads` (as the
        ancestor read it), else 64.
        """
        source = os.environ if environ is None else environ
        values = {key.lower(): value for key, value in source.items()}
        found: Dict[str, Any] = {}

        def text(suffix: str) -> Optional[str]:
            return values.get(f"flyer_db_{suffix}")

        for suffix, field in (("user", "user"), ("pass", "password"), ("host", "host")):
            if text(suffix) is not None:
                found[field] = text(suffix)
        if text("name") is not None:
            found["name"] = text("name")
        if text("port") is not None:
            found["port"] = parse_port(text("port"), "flyer_db_port")
        charset = text("charset") if text("charset") is not None else text("chartset")
        if charset is not None:
            if not charset.strip().isidentifier():
                variable = (
                    "flyer_db_charset" if text("charset") is not None else "flyer_db_chartset"
                )
                raise ValueError(
                    f"{variable}={charset!r}: expected a character set name like utf8mb4"
                )
            found["charset"] = charset.strip()
        overflow = ("flyer_db_max_overflow", text("max_overflow"))
        if overflow[1] is None and values.get("flyer_threads") is not None:
            overflow = ("flyer_threads", values["flyer_threads"])
        for field, (variable, raw), minimum in (
            ("recycle_rate", ("flyer_db_recycle_rate", text("recycle_rate")), -1),
            ("pool_size", ("flyer_db_pool_size", text("pool_size")), 0),
            ("max_overflow", overflow, -1),
        ):
            if raw is not None:
                found[field] = parse_int(variable, raw, minimum)
        url = text("url")
        if url is not None and url.strip():
            try:
                normalize_url(url)  # fail at start-up, not on the first query
            except ValueError as exc:  # its text never holds the URL's password
                reason = str(exc)
                if reason.startswith("database URL: "):
                    reason = reason[len("database URL: ") :]
                raise ValueError(f"flyer_db_url: {reason}") from None
            found["database_url"] = url.strip()
        found["server"] = bool(found.get("database_url")) or any(
            text(part) is not None for part in _SERVER_PARTS
        )
        return cls(**found)

    @property
    def url(self) -> URL:
        """The URL to connect to: `flyer_db_url`, else MySQL from the parts, else SQLite."""
        if self.database_url:
            return normalize_url(self.database_url)
        if self.server:
            return mysql_url(
                self.user, self.password, self.host, self.port, self.name, self.charset
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
        return (
            f"DBSettings(url={safe_url(self.url)!r}, recycle_rate={self.recycle_rate}, "
            f"pool_size={self.pool_size}, max_overflow={self.max_overflow})"
        )


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
    text = str(value).strip()
    digits = text[1:] if text.startswith("-") else text
    if not isinstance(value, bool) and digits.isdigit() and int(text) >= minimum:
        return int(text)
    raise ValueError(f"{what}={value!r}: expected an integer >= {minimum}")
