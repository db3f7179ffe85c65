"""SQLAlchemy engines and sessions, and a dataset helper that survives restarts."""

from flyer_db.__about__ import __version__
from flyer_db._check import acheck_engine, check_engine
from flyer_db._dataset import get_dataset_pool
from flyer_db._engine import create_engine, get_engine, get_mysql_pool
from flyer_db._plugin import DBPlugin
from flyer_db._registry import dispose_engines
from flyer_db._retry import RetryPolicy, is_read_statement
from flyer_db._session import get_session, session_dependency, session_factory, session_scope
from flyer_db._settings import DBSettings
from flyer_db._url import safe_url

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
