"""Importing every flyer package together is free of side effects (DESIGN: no import-time I/O)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict

MODULES = [
    "flyer_status",
    "flyer_http",
    "flyer_cache",
    "flyer_db",
    "flyer_sched",
    "flyer_mcp",
    "flyer_core",
    "flyer_cli",
]

PROBE = """
import json, os, sys, threading
cwd, path, threads = os.getcwd(), list(sys.path), threading.active_count()
import socket
opened = []
real_connect = socket.socket.connect
def spy(self, address):
    opened.append(repr(address))
    return real_connect(self, address)
socket.socket.connect = spy
for name in %r:
    __import__(name)
print(json.dumps({
    "cwd_same": os.getcwd() == cwd,
    "path_same": sys.path == path,
    "threads": threading.active_count() - threads,
    "connects": opened,
}))
"""


def test_importing_every_package_does_no_io_and_changes_no_global_state() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE % (MODULES,)], check=True, capture_output=True, text=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"cwd_same": True, "path_same": True, "threads": 0, "connects": []}


# Libraries a plugin needs only for a configured feature, or only once the app runs: building
# an app with every plugin installed and nothing configured must import none of them.
HEAVY = [
    "sqlalchemy",
    "redis",
    "httpx",
    "mcp",
    "faststream",
    "opentelemetry.sdk",
    "dataset",
    "prometheus_client",
    "apscheduler.schedulers",
]
# The plugins' start-up (the app's lifespan) imports none of them: the schedulers start with
# the app but, with no job, job store or listener, APScheduler waits for the first one; the
# shared httpx client is built when `app.state.http` is first read, the MCP SDK waits for the
# endpoint's first request, prometheus-client for the first scrape (or job run, call out,
# cache lookup), SQLAlchemy and redis-py for a database or Redis to be configured.

LOADED = """
import sys
heavy = %r
def loaded():
    return sorted(h for h in heavy if h in sys.modules)
"""

BUILD_AND_START = (
    LOADED
    + """
import asyncio, json
import flyer_cache, flyer_db, flyer_http, flyer_mcp, flyer_mq, flyer_sched, flyer_telemetry
from flyer_core import create_app
imported = loaded()
app = create_app(None)
built = loaded()
plugins = sorted(p.name for p in app.state.flyer_plugins)
async def lifespan():
    async with app.router.lifespan_context(app):
        started = loaded()
        client = app.state.http
        again = app.state.http
        return started, loaded(), type(client).__module__, client is again, client
started, used, client_module, same, client = asyncio.run(lifespan())
print(json.dumps({
    "imported": imported, "built": built, "started": started, "plugins": plugins,
    "used": used, "client": client_module, "same": same, "closed": client.is_closed,
}))
"""
)


def _run(code: str, cwd: Path, env: Dict[str, str]) -> Dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=str(cwd), env=env, check=True, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    result: Dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_building_an_app_with_every_plugin_imports_no_heavy_library(
    tmp_path: Path, flyer_env: Callable[..., Dict[str, str]]
) -> None:
    env = flyer_env(flyer_sched_lock_dir=str(tmp_path / "locks"), flyer_log_format="json")
    result = _run(BUILD_AND_START % (HEAVY,), tmp_path, env)
    assert set(result["plugins"]) >= {"cache", "db", "http", "sched", "mq", "mcp", "telemetry"}
    assert result["imported"] == []
    assert result["built"] == []
    # The schedulers start with the app, and with no job APScheduler is not loaded for them.
    assert result["started"] == []
    # The shared client, once read: built then, once, and closed with the app.
    assert result["used"] == ["httpx"]
    assert result["client"] == "flyer_http._client"
    assert result["same"] is True
    assert result["closed"] is True


def test_a_configured_feature_imports_its_library_when_the_app_is_built(
    tmp_path: Path, flyer_env: Callable[..., Dict[str, str]]
) -> None:
    env = flyer_env(
        flyer_sched_lock_dir=str(tmp_path / "locks"),
        flyer_log_format="json",
        flyer_redis_url="redis://127.0.0.1:6379/1",
        flyer_db_url="sqlite:///" + str(tmp_path / "app.db"),
    )
    result = _run(BUILD_AND_START % (HEAVY,), tmp_path, env)
    assert result["imported"] == []
    assert {"redis", "sqlalchemy"} <= set(result["built"])


def test_a_generated_project_imports_no_heavy_library(
    tmp_path: Path,
    run_flyer: Callable[..., subprocess.CompletedProcess[str]],
    flyer_env: Callable[..., Dict[str, str]],
) -> None:
    """`import main` of a project made by `flyer create`, as `flyer serve` loads it. Its
    tasks app schedules its jobs when imported: that use loads APScheduler, nothing else."""
    root = tmp_path / "demo"
    created = run_flyer("create", "demo", "--dir", str(root), "--no-lock", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    code = LOADED % (HEAVY,) + "import json, main\nprint(json.dumps({'built': loaded()}))\n"
    env = flyer_env(flyer_sched_lock_dir=str(tmp_path / "locks"), flyer_log_format="json")
    assert _run(code, root, env) == {"built": ["apscheduler.schedulers"]}


LAZY_NAMES = """
import importlib, json, sys
result = {}
for name in %r:
    module = importlib.import_module(name)
    ready_made = set(getattr(module, "SYNC_NAMES", ())) | set(getattr(module, "ASYNC_NAMES", ()))
    missing = [n for n in module.__all__ if n not in ready_made and getattr(module, n, None) is None]
    listed = [n for n in module.__all__ if n not in dir(module)]
    result[name] = missing + listed
print(json.dumps(result))
"""


OWN_MODULES = """
import importlib, json, sys
result = {}
for name in %r:
    before = set(sys.modules)
    importlib.import_module(name)
    result[name] = sorted(m for m in set(sys.modules) - before if m.startswith(name + "."))
print(json.dumps(result))
"""


def test_importing_a_plugin_package_imports_none_of_its_modules(
    tmp_path: Path, flyer_env: Callable[..., Dict[str, str]]
) -> None:
    """Every public name loads when first read: the `flyer.plugins` entry point imports the
    plugin's module and what it needs, not the whole package (start-up time)."""
    packages = [
        "flyer_cache", "flyer_db", "flyer_http", "flyer_mcp", "flyer_mq", "flyer_sched",
        "flyer_telemetry",
    ]  # fmt: skip
    result = _run(OWN_MODULES % (packages,), tmp_path, flyer_env())
    assert result == {name: [name + ".__about__"] for name in packages}


def test_every_public_name_still_imports(
    tmp_path: Path, flyer_env: Callable[..., Dict[str, str]]
) -> None:
    """Names loaded on first access resolve, and `dir()` lists them."""
    packages = [
        "flyer_cache", "flyer_db", "flyer_http", "flyer_mcp", "flyer_mq", "flyer_sched",
        "flyer_telemetry",
    ]  # fmt: skip
    result = _run(LAZY_NAMES % (packages,), tmp_path, flyer_env())
    assert result == {name: [] for name in packages}
    from flyer_cache import RedisBackend, get_async_redis_pool
    from flyer_db import get_session, session_scope
    from flyer_http import AsyncClient, RetryPolicy

    assert RedisBackend.__module__ == "flyer_cache._redis_backend"
    assert callable(get_async_redis_pool)
    assert callable(get_session)
    assert callable(session_scope)
    assert AsyncClient.__module__ == "flyer_http._client"
    assert RetryPolicy().attempts == 3
