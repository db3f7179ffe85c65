"""Fixtures for flyer-db's tests: real servers, a way to kill their connections, a TCP proxy
that plays a restarting server, and sockets that refuse or never answer."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from typing import Any, Callable, Iterator, List, Optional

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

import flyer_db


def pytest_configure(config: pytest.Config) -> None:
    # SQLAlchemy 1.4 warns once that dataset 1.x uses APIs SQLAlchemy 2 removed.
    config.addinivalue_line("filterwarnings", "ignore:Deprecated API features detected")


def pytest_report_header() -> str:
    try:
        from importlib.metadata import version

        import dataset  # noqa: F401

        dataset_version = version("dataset")
    except ImportError:
        dataset_version = "not installed"
    return f"flyer-db: SQLAlchemy {sqlalchemy.__version__}, dataset {dataset_version}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def table_name() -> str:
    """A table name no other test (or engineer running tests) uses."""
    return f"flyer_t_{uuid.uuid4().hex[:12]}"


class Server:
    """A real MariaDB or PostgreSQL server, reached by a private admin connection."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        parts = make_url(url)
        self.host = parts.host or "127.0.0.1"
        self.port = int(parts.port or 0)
        self.user = parts.username or ""
        self.database = parts.database or ""
        self.id_sql = (
            "SELECT CONNECTION_ID() AS id" if kind == "mysql" else ("SELECT pg_backend_pid() AS id")
        )
        self.sleep_sql = "SLEEP(0.5)" if kind == "mysql" else "pg_sleep(0.5)"
        self._admin: Any = None

    def url_via(self, port: int) -> str:
        """This server's URL with another port (a proxy in front of it)."""
        return make_url(self.url).set(port=port).render_as_string(hide_password=False)

    @property
    def admin(self) -> Any:
        if self._admin is None:
            if self.kind == "mysql":
                import pymysql

                self._admin = pymysql.connect(
                    host=self.host,
                    port=self.port,
                    user=self.user,
                    database=self.database,
                    autocommit=True,
                )
            else:
                import psycopg

                self._admin = psycopg.connect(
                    host=self.host,
                    port=self.port,
                    user=self.user,
                    dbname=self.database,
                    autocommit=True,
                )
        return self._admin

    def execute(self, sql: str) -> List[Any]:
        with contextlib.closing(self.admin.cursor()) as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []

    def kill(self, connection_id: int) -> None:
        """The server closes that client connection, as an admin or a restart would."""
        if self.kind == "mysql":
            self.execute(f"KILL {int(connection_id)}")
        else:
            self.execute(f"SELECT pg_terminate_backend({int(connection_id)})")
        self.wait_gone(connection_id)

    def wait_gone(self, connection_id: int) -> None:
        if self.kind == "mysql":
            sql = f"SELECT COUNT(*) FROM information_schema.processlist WHERE id = {int(connection_id)}"
        else:
            sql = f"SELECT COUNT(*) FROM pg_stat_activity WHERE pid = {int(connection_id)}"
        deadline = time.monotonic() + 5
        while self.execute(sql)[0][0]:
            assert time.monotonic() < deadline, f"connection {connection_id} still alive"
            time.sleep(0.02)

    def wait_running(self, marker: str, timeout: float = 5) -> int:
        """The id of the connection running a statement that contains `marker`."""
        if self.kind == "mysql":
            sql = "SELECT id, info FROM information_schema.processlist"
        else:
            sql = "SELECT pid, query FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
        deadline = time.monotonic() + timeout
        while True:
            for connection_id, text in self.execute(sql):
                if text and marker in text and "processlist" not in text:
                    return int(connection_id)
            assert time.monotonic() < deadline, f"no statement containing {marker!r} ran"
            time.sleep(0.01)

    def count(self, table: str) -> int:
        return int(self.execute(f"SELECT COUNT(*) FROM {table}")[0][0])

    def drop(self, table: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {table}")

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None


@pytest.fixture(params=["mysql", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """Each real server in turn (MariaDB, then PostgreSQL)."""
    url = request.getfixturevalue(f"{request.param}_url")
    instance = Server(request.param, url)
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture
def mariadb(mysql_url: str) -> Iterator[Server]:
    instance = Server("mysql", mysql_url)
    try:
        yield instance
    finally:
        instance.close()


class TcpProxy:
    """A loopback TCP proxy to a server: `stop()` drops every connection and refuses new
    ones, as a restarting server does; `start()` brings it back on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._listener: Optional[socket.socket] = None
        self._sockets: List[socket.socket] = []
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(5)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxy_to() -> Iterator[Callable[[Server], TcpProxy]]:
    """`proxy_to(server)`: a started proxy in front of `server`, stopped after the test."""
    proxies: List[TcpProxy] = []

    def make(target: Server) -> TcpProxy:
        proxy = TcpProxy(target.host, target.port)
        proxy.start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.fixture
def engines() -> Iterator[Callable[..., sqlalchemy.engine.Engine]]:
    """`engines(url, **kw)`: `flyer_db.create_engine`, disposed after the test."""
    made: List[sqlalchemy.engine.Engine] = []

    def make(url: str, **kwargs: Any) -> sqlalchemy.engine.Engine:
        engine = flyer_db.create_engine(url, **kwargs)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def quiet_fork() -> Callable[[], int]:
    """`os.fork()` without Python 3.12's warning about threads (daemon probes may be alive)."""
    import os
    import warnings

    def fork() -> int:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
            return os.fork()

    return fork


@pytest.fixture(autouse=True)
def _restore_default_settings() -> Iterator[None]:
    yield
    from flyer_db import _engine

    _engine.set_default_settings(None)
