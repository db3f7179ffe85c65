"""When an operation that lost its database connection may run again, and how long to wait."""

from __future__ import annotations

import random
import re
from typing import Any, ClassVar, Mapping

import flyer_status

# A statement is a read when it starts with one of these words and contains none of the
# words below: such a statement may run again after its connection died mid-flight.
_READ_WORDS = frozenset(
    {"SELECT", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "WITH", "VALUES", "TABLE", "PRAGMA"}
)
_WRITE_WORDS = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|REPLACE|UPSERT|INTO|CALL|DO|ANALYZE|LOCK|NEXTVAL|SETVAL)\b",
    re.IGNORECASE,
)
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)
_FIRST_WORD = re.compile(r"[A-Za-z]+")

# Connection failures that waiting will not fix: bad credentials, unknown database.
_MYSQL_CONFIG_ERRORS = frozenset({1044, 1045, 1049, 1251, 1698})
_POSTGRES_CONFIG_TEXT = ("authentication failed", "does not exist", "no pg_hba.conf entry")


class RetryPolicy(flyer_status.RetryPolicy):
    """How the dataset helper retries an operation whose connection was lost.

    A `flyer_status.RetryPolicy` (the type flyer-http's policy extends) with the defaults
    for a database: `attempts` counts the first one; waits grow from `backoff` (also
    `multiplier`) doubling up to `max_backoff` (also `max_wait`) seconds, each plus up to
    `backoff` seconds at random; no retry starts `max_delay` seconds after the first attempt
    began. The defaults ride out a database restart of a few seconds. `jitter` is 0: the
    random part is added, not taken off.
    """

    __slots__ = ()

    DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "attempts": 6,
        "max_delay": 15.0,
        "multiplier": 0.1,
        "max_wait": 2.0,
        "jitter": 0.0,
    }
    _seconds: ClassVar[str] = "a number of seconds"

    def __init__(self, **names: Any) -> None:
        super().__init__(**names)
        if self.jitter:
            raise ValueError(
                f"RetryPolicy jitter={self.jitter!r}: expected 0; flyer-db adds up to "
                "`backoff` seconds at random to each wait instead"
            )

    def wait(self, attempt: int) -> float:
        """Seconds to wait after the try numbered `attempt` failed, its random part included."""
        return super().wait(attempt) + random.uniform(0, self.multiplier)


def is_read_statement(sql: str) -> bool:
    """Whether `sql` only reads, so running it twice cannot change data.

    Conservative: a SELECT mentioning INTO, NEXTVAL, LOCK... counts as a write, and so does
    anything not starting with SELECT, SHOW, DESCRIBE, EXPLAIN, WITH, VALUES, TABLE or PRAGMA.
    A SELECT calling a function that writes is the one case it cannot see.
    """
    start = _LEADING.match(sql)
    rest = sql[start.end() if start else 0 :]
    word = _FIRST_WORD.match(rest)
    if word is None or word.group(0).upper() not in _READ_WORDS:
        return False
    if word.group(0).upper() == "PRAGMA" and "=" in rest:
        return False
    return _WRITE_WORDS.search(rest, word.end()) is None


def is_configuration_error(error: BaseException) -> bool:
    """Whether a failed connect is a setup mistake (credentials, database name), not an outage."""
    args = getattr(error, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_CONFIG_ERRORS:
        return True
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(code, str) and (code.startswith("28") or code == "3D000"):
        return True
    if not type(error).__module__.startswith("psycopg"):
        return False
    text = str(error).lower()
    return any(marker in text for marker in _POSTGRES_CONFIG_TEXT)
