"""ORM sessions: a sessionmaker per engine, `session_scope()` and the FastAPI dependency."""

from __future__ import annotations

import contextlib
import threading
import weakref
from typing import Any, Callable, Dict, Iterator, Optional, Union

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from flyer_db._engine import get_engine
from flyer_db._url import sa_major

Bind = Union[Engine, "sessionmaker[Session]", None]

_lock = threading.Lock()
_factories: weakref.WeakKeyDictionary[Engine, sessionmaker[Session]] = weakref.WeakKeyDictionary()


def session_factory(bind: Optional[Engine] = None, **kwargs: Any) -> sessionmaker[Session]:
    """A `sessionmaker` for `bind` (default: `get_engine()`); one per engine unless `kwargs`.

    Sessions do not expire objects on commit (`expire_on_commit=False`), so a route can
    return what it just committed after the session closed; pass `expire_on_commit=True`
    for SQLAlchemy's default. On SQLAlchemy 1.4 the sessions use its 2.0 behaviour
    (`future=True`), so code runs the same on both.
    """
    engine = get_engine() if bind is None else bind
    options: Dict[str, Any] = {"expire_on_commit": False}
    if sa_major() < 2:
        options["future"] = True
    options.update(kwargs)
    if kwargs:
        return sessionmaker(bind=engine, **options)
    with _lock:
        factory = _factories.get(engine)
        if factory is None:
            factory = _factories[engine] = sessionmaker(bind=engine, **options)
        return factory


@contextlib.contextmanager
def session_scope(bind: Bind = None) -> Iterator[Session]:
    """A session that commits when the block ends, rolls back on any exception, then closes.

    `bind` is an engine, a `sessionmaker`, or None for `get_engine()`.
    """
    factory = bind if isinstance(bind, sessionmaker) else session_factory(bind)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def session_dependency(bind: Bind = None) -> Callable[[], Iterator[Session]]:
    """A FastAPI dependency (a generator function) yielding a session on `bind`.

    The session commits after the route returns and rolls back if it raises.
    """

    def dependency() -> Iterator[Session]:
        with session_scope(bind) as session:
            yield session

    return dependency


def get_session() -> Iterator[Session]:
    """FastAPI dependency: `session: Session = Depends(get_session)` on the app's engine.

    Commits after the route returns, rolls back if it raises, always closes.
    """
    with session_scope() as session:
        yield session
