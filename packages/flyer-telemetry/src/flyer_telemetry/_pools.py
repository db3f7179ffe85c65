"""Database connections checked out of each SQLAlchemy engine's pool, as a gauge.

Every engine is found when it first hands out a connection (SQLAlchemy's public
`engine_connect` event on the `Engine` class: flyer-db's engines and any other), and its pool's
`checkout` / `checkin` events count from then on. Nothing is listened to before `install()`.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, List, Tuple


def engine_label(engine: Any) -> str:
    """`dialect://host:port/database` of an engine: no user name, no password."""
    url = engine.url
    where = url.host or ""
    if url.port:
        where = f"{where}:{url.port}"
    return f"{url.get_backend_name()}://{where}/{url.database or ''}"


class PoolWatch:
    """Counts each engine's checked-out connections into the gauge `gauge()` returns
    (labelled by engine), asked for when the first engine is watched."""

    def __init__(self, gauge: Callable[[], Any]) -> None:
        self.gauge = gauge
        self.seen: weakref.WeakSet[Any] = weakref.WeakSet()
        self.lock = threading.Lock()
        self.listeners: List[Tuple[weakref.ref[Any], Callable[..., None], Callable[..., None]]] = []
        self.installed = False

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "engine_connect", self._connected_listener())
        self.installed = True

    def _connected_listener(self) -> Callable[..., None]:
        import sqlalchemy

        self._connected: Callable[..., None]

        if sqlalchemy.__version__.startswith("1."):  # 1.4 passes (connection, branch)

            def connected_14(connection: Any, branch: Any) -> None:
                self.watch(connection.engine)

            self._connected = connected_14
        else:

            def connected(connection: Any) -> None:
                self.watch(connection.engine)

            self._connected = connected
        return self._connected

    def watch(self, engine: Any) -> None:
        """Count `engine`'s pool from now on (the connections it has out already included)."""
        pool = engine.pool
        if pool in self.seen:
            return
        from sqlalchemy import event

        with self.lock:
            if pool in self.seen:
                return
            child = self.gauge().labels(engine_label(engine))

            def checkout(*args: Any) -> None:
                child.inc()

            def checkin(*args: Any) -> None:
                child.dec()

            event.listen(pool, "checkout", checkout)
            event.listen(pool, "checkin", checkin)
            self.seen.add(pool)
            self.listeners.append((weakref.ref(pool), checkout, checkin))
            # Out before the engine was seen (the connection that made it known, at least);
            # their check-ins are counted.
            count = getattr(pool, "checkedout", None)
            child.inc(count() if callable(count) else 1)

    def uninstall(self) -> None:
        if not self.installed:
            return
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.remove(Engine, "engine_connect", self._connected)
        with self.lock:
            for ref, checkout, checkin in self.listeners:
                pool = ref()
                if pool is not None:
                    event.remove(pool, "checkout", checkout)
                    event.remove(pool, "checkin", checkin)
            self.listeners = []
            self.seen = weakref.WeakSet()
        self.installed = False
