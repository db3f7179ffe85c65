"""SQLAlchemy engines and sessions, and a dataset helper that survives restarts.

SQLAlchemy is imported when first needed (a URL, an engine, a session), not by importing
flyer-db: the session helpers below load on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

from flyer_db.__about__ import __version__
from flyer_db._check import acheck_engine, check_engine
from flyer_db._dataset import get_dataset_pool
from flyer_db._engine import create_engine, get_engine, get_mysql_pool
from flyer_db._plugin import DBPlugin
from flyer_db._registry import dispose_engines
from flyer_db._retry import RetryPolicy, is_read_statement
from flyer_db._settings import DBSettings
from flyer_db._url import safe_url

if TYPE_CHECKING:
    from flyer_db._session import get_session, session_dependency, session_factory, session_scope

# Public names whose module imports SQLAlchemy's ORM: loaded on first access (PEP 562).
_LAZY = {
    "get_session": "flyer_db._session",
    "session_dependency": "flyer_db._session",
    "session_factory": "flyer_db._session",
    "session_scope": "flyer_db._session",
}

__all__ = [
    "DBPlugin",
    "DBSettings",
    "RetryPolicy",
    "__version__",
    "acheck_engine",
    "check_engine",
    "create_engine",
    "dispose_engines",
    "get_dataset_pool",
    "get_engine",
    "get_mysql_pool",
    "get_session",
    "is_read_statement",
    "safe_url",
    "session_dependency",
    "session_factory",
    "session_scope",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flyer_db' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
