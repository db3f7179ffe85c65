"""The flyer-core plugin, driven the way flyer-core drives it."""

import importlib.metadata
import sys
import weakref
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict, List

import pytest
from sqlalchemy import text

import flyer_db
from flyer_db import DBPlugin, get_engine


def entry_points(group: str) -> List[Any]:
    if sys.version_info >= (3, 10):
        return list(importlib.metadata.entry_points(group=group))
    return list(importlib.metadata.entry_points().get(group, []))


def app_settings(environ: Dict[str, str]) -> Any:
    return SimpleNamespace(base_url="/flyer", environ=environ)


def test_the_entry_point_names_a_fresh_plugin_per_app() -> None:
    (entry,) = [e for e in entry_points("flyer.plugins") if e.name == "db"]
    factory = entry.load()
    assert factory is DBPlugin
    first, second = factory(), factory()
    assert first is not second
    assert (first.name, first.order) == ("db", 20)


def test_setup_makes_the_apps_settings_the_default(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    plugin = DBPlugin()
    plugin.setup(SimpleNamespace(state=SimpleNamespace()), app_settings({"flyer_db_url": url}))
    engine = get_engine()
    try:
        assert engine.url.database == str(tmp_path / "app.db")
        with flyer_db.session_scope() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


@pytest.fixture
def no_other_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the engines earlier tests made, so the check sees only this test's."""
    monkeypatch.setattr(flyer_db._registry, "_engines", weakref.WeakSet())


async def test_check_reports_every_engine_and_the_configured_server(
    server: Any, closed_port: int, engines: Callable[..., Any], no_other_engines: None
) -> None:
    reachable = engines(server.url)
    plugin = DBPlugin()
    environ = {"flyer_db_url": f"mysql://root@127.0.0.1:{closed_port}/flyer"}
    plugin.setup(None, app_settings(environ))
    result = await plugin.check()
    by_url = {entry["url"]: entry for entry in result["databases"]}
    assert by_url[flyer_db.safe_url(reachable.url)]["ok"] is True
    configured = by_url[f"mysql+pymysql://root@127.0.0.1:{closed_port}/flyer"]
    assert configured["ok"] is False
    assert result["ok"] is False
    assert len(result["databases"]) == 2
    get_engine().dispose()


def test_check_is_ready_with_no_database_configured_or_used() -> None:
    import subprocess

    code = (
        "import asyncio, types, flyer_db\n"
        "plugin = flyer_db.DBPlugin()\n"
        "plugin.setup(None, types.SimpleNamespace(environ={}))\n"
        "result = asyncio.run(plugin.check())\n"
        "assert result == {'ok': True, 'databases': []}, result\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


async def test_startup_connects_nothing_and_shutdown_closes_idle_connections(
    server: Any, engines: Callable[..., Any], no_other_engines: None
) -> None:
    engine = engines(server.url)
    plugin = DBPlugin()
    plugin.setup(None, app_settings({}))
    await plugin.startup()
    assert engine.pool.checkedin() == 0
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert engine.pool.checkedin() == 1
    await plugin.shutdown()
    assert engine.pool.checkedin() == 0


def test_settings_fields_are_listed_for_flyer_config() -> None:
    fields = DBPlugin().settings_fields()
    assert {f["name"] for f in fields} >= {"flyer_db_url", "flyer_db_pass", "flyer_db_host"}
    assert all(set(f) == {"name", "default", "secret", "help"} for f in fields)


def test_importing_flyer_db_connects_to_nothing() -> None:
    import subprocess

    code = (
        "import socket, threading; opened = []\n"
        "real = socket.socket.connect\n"
        "socket.socket.connect = lambda self, *a: opened.append(a) or real(self, *a)\n"
        "before = threading.active_count()\n"
        "import flyer_db, flyer_db._plugin\n"
        "assert not opened and threading.active_count() == before, (opened,)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_check_answers_before_flyer_cores_deadline() -> None:
    plugin = DBPlugin()
    plugin.setup(None, SimpleNamespace(environ={}, ready_timeout=1.0))
    assert plugin.timeout == 0.8
    relaxed = DBPlugin()
    relaxed.setup(None, SimpleNamespace(environ={}, ready_timeout=30.0))
    assert relaxed.timeout == 2.0
