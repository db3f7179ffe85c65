"""flyer-db inside a real flyer app: the plugin is found by entry point, takes the database
from `.env`, backs `get_session` and `get_dataset_pool()` routes, reports readiness through
`/ready` while the database is unreachable and after it is back, and closes its pools when
the app stops."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import pytest
import sqlalchemy
from fastapi import APIRouter, Depends
from sqlalchemy import Column, Integer, String, Table, text
from sqlalchemy.orm import Session

import flyer_db
from flyer_core import create_app, load_settings
from flyer_db import get_dataset_pool, get_engine, get_session

pytestmark = pytest.mark.services


class _Proxy:
    """A loopback TCP proxy to the database; `stop()` plays the server going away."""

    def __init__(self, target: Tuple[str, int], port: int) -> None:
        self.target = target
        self.port = port
        self._listener: Optional[socket.socket] = None
        self._sockets: List[socket.socket] = []
        self._threads: List[threading.Thread] = []

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        for sock in ([listener] if listener else []) + self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets = []
        for thread in self._threads:
            thread.join(5)
        self._threads = []

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                return
            upstream.settimeout(None)
            self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def test_db_plugin_in_an_app_with_the_database_from_dotenv(
    mysql_url: str,
    tmp_path: Path,
    free_port: Callable[[], int],
    serve_app: Callable[..., Any],
) -> None:
    server = sqlalchemy.engine.make_url(mysql_url)
    proxy = _Proxy((server.host or "127.0.0.1", int(server.port or 3306)), free_port())
    proxy.start()
    name = f"flyer_it_{uuid.uuid4().hex[:10]}"
    via_proxy = server.set(port=proxy.port).render_as_string(hide_password=False)
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"flyer_db_url={via_proxy}\nflyer_ready_timeout=3\n"
        # The full readiness report (each database) is for authenticated callers only.
        "flyer_auth_enable=1\nflyer_auth_user=ops\nflyer_auth_pass=pw\n"
    )
    settings = load_settings(str(env_file), environ={})
    app = create_app(apps=None, settings=settings)

    notes = Table(
        name,
        sqlalchemy.MetaData(),
        Column("id", Integer, primary_key=True),
        Column("text", String(64), nullable=False),
    )
    router = APIRouter()

    @router.post("/notes/{body}")
    def add_note(body: str, session: Session = Depends(get_session)) -> dict:  # noqa: B008
        session.execute(notes.insert().values(text=body))
        return {"text": body}

    @router.get("/notes")
    def list_notes(session: Session = Depends(get_session)) -> list:  # noqa: B008
        return [row.text for row in session.execute(notes.select().order_by(notes.c.id))]

    @router.get("/notes/count")
    def count_notes() -> dict:
        return {"count": get_dataset_pool()[name].count()}

    app.include_router(router, prefix=settings.base_url)
    engine = get_engine()  # the plugin made the .env database the default
    assert engine.url.port == proxy.port
    notes.create(engine)
    try:
        with serve_app(app, timeout=15) as client:
            client.auth = ("ops", "pw")  # the credentials its .env gives the app
            ready = client.get("/flyer/ready")
            assert ready.status_code == 200, ready.text
            (checked,) = [
                d
                for d in ready.json()["data"]["checks"]["db"]["databases"]
                if d["url"] == flyer_db.safe_url(engine.url)
            ]
            assert checked["ok"] is True

            assert client.post("/flyer/notes/first").json() == {"text": "first"}
            assert client.get("/flyer/notes").json() == ["first"]
            assert client.get("/flyer/notes/count").json() == {"count": 1}

            proxy.stop()
            down = client.get("/flyer/ready")
            assert down.status_code == 503
            assert "db" in down.json()["detail"]
            assert down.json()["data"]["checks"]["db"]["ok"] is False

            proxy.start()
            assert client.get("/flyer/ready").status_code == 200
            assert client.post("/flyer/notes/second").status_code == 200
            assert client.get("/flyer/notes").json() == ["first", "second"]
            assert client.get("/flyer/notes/count").json() == {"count": 2}
        # Shutdown closed the pools' idle connections.
        assert engine.pool.checkedin() == 0
    finally:
        proxy.stop()
        direct = sqlalchemy.create_engine(mysql_url)
        with direct.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
        direct.dispose()
        get_dataset_pool().close()
        engine.dispose()
        flyer_db._engine.set_default_settings(None)
