"""SQLAlchemy engines and sessions, and a dataset helper that survives restarts.

SQLAlchemy is imported when first needed (a URL, an engine, a session), not by importing
flyer-db: the session helpers below load on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flyer_db.__about__ import __version__
from flyer_status import lazy

if TYPE_CHECKING:
    from flyer_db._check import acheck_engine, check_engine
    from flyer_db._dataset import get_dataset_pool
    from flyer_db._engine import create_engine, get_engine, get_mysql_pool
    from flyer_db._plugin import DBPlugin
    from flyer_db._registry import dispose_engines
    from flyer_db._retry import RetryPolicy, is_read_statement
    from flyer_db._session import get_session, session_dependency, session_factory, session_scope
    from flyer_db._settings import DBSettings
    from flyer_db._url import safe_url

# Every public name is imported when first read (PEP 562): the `flyer.plugins` entry point
# loads `flyer_db._plugin` and what that needs, not every module of the package.
_LAZY = {
    "acheck_engine": "flyer_db._check",
    "check_engine": "flyer_db._check",
    "get_dataset_pool": "flyer_db._dataset",
    "create_engine": "flyer_db._engine",
    "get_engine": "flyer_db._engine",
    "get_mysql_pool": "flyer_db._engine",
    "DBPlugin": "flyer_db._plugin",
    "dispose_engines": "flyer_db._registry",
    "RetryPolicy": "flyer_db._retry",
    "is_read_statement": "flyer_db._retry",
    "get_session": "flyer_db._session",
    "session_dependency": "flyer_db._session",
    "session_factory": "flyer_db._session",
    "session_scope": "flyer_db._session",
    "DBSettings": "flyer_db._settings",
    "safe_url": "flyer_db._url",
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


__getattr__, __dir__ = lazy.exports(__name__, _LAZY)
