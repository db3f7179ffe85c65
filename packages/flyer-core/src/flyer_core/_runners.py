"""Dev and prod runners: `run_dev` (uvicorn, reload) and `run_prod` (gunicorn or granian)."""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any, Dict, NoReturn, Optional

from flyer_core._errors import StartupError
from flyer_core._logging import configure_logging
from flyer_core._plugins import call_server_hook, check_plugin_settings, discover_plugins
from flyer_core._settings import Settings, SettingsError, load_settings

_TARGET_VARIABLE = "FLYER_CORE_RUN_APP"
SERVERS = ("gunicorn", "granian")


def _fail(exc: Exception, exit_code: int) -> NoReturn:
    print(f"error: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(exit_code)


def _settings(settings: Optional[Settings]) -> Settings:
    """The settings to serve with, every installed plugin's checked and logging configured:
    before anything binds, a bad value (or a log file that cannot be opened) is one line and
    exit 2 (a plugin that does not load: exit 3)."""
    try:
        if settings is None:
            settings = load_settings()
        check_plugin_settings(settings)
        configure_logging(settings)
    except SettingsError as exc:
        _fail(exc, 2)
    except StartupError as exc:
        _fail(exc, 3)
    return settings


def _project_on_path() -> None:
    # `main:app` lives in the current directory, which console scripts do not put on sys.path.
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def load_target(target: str, exit_code: int = 3) -> Any:
    """Import `module:attr`; a settings or start-up error is one line on stderr and an exit
    (2 for settings, `exit_code` otherwise), not a traceback."""
    from uvicorn.importer import ImportFromStringError, import_from_string

    try:
        return import_from_string(target)
    except SettingsError as exc:
        _fail(exc, 2 if exit_code == 3 else exit_code)
    except StartupError as exc:
        _fail(exc, exit_code)
    except ImportFromStringError as exc:
        _fail(StartupError(str(exc)), exit_code)


def dev_app() -> Any:
    """uvicorn factory for `run_dev`: loads the target named by the parent process."""
    _project_on_path()
    return load_target(os.environ[_TARGET_VARIABLE])


def run_dev(
    app: str = "main:app",
    *,
    host: Optional[str] = None,
    port: Optional[int] = None,
    reload: bool = True,
    settings: Optional[Settings] = None,
) -> None:
    """Serve `app` (`module:attr`) with uvicorn, reloading on code changes by default."""
    import uvicorn

    from flyer_core._edge import uvicorn_options as edge_options

    settings = _settings(settings)
    _project_on_path()
    os.environ[_TARGET_VARIABLE] = app
    uvicorn.run(
        "flyer_core._runners:dev_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        lifespan="on",
        timeout_keep_alive=settings.keepalive,
        timeout_graceful_shutdown=settings.graceful_timeout or None,
        **edge_options(settings),
    )


def run_prod(
    app: str = "main:app",
    *,
    workers: Optional[int] = None,
    host: Optional[str] = None,
    port: Optional[int] = None,
    server: str = "gunicorn",
    settings: Optional[Settings] = None,
) -> None:
    """Serve `app` in production: gunicorn with uvicorn workers, or granian (extra)."""
    if server not in SERVERS:
        raise ValueError(f"server={server!r}: expected one of {', '.join(SERVERS)}")
    settings = _settings(settings)
    _project_on_path()
    try:
        # In this process, before any worker starts: what the workers share is made here.
        plugins = discover_plugins()
        call_server_hook(plugins, "prepare_server", settings)
    except StartupError as exc:
        _fail(exc, 3)
    if server == "granian":
        try:
            _run_granian(app, settings, workers=workers, host=host, port=port)
        finally:
            call_server_hook(plugins, "server_stopped")
        return
    from flyer_core._edge import uvicorn_options as edge_options
    from flyer_core._gunicorn import GunicornApplication, gunicorn_options, server_hooks

    options = gunicorn_options(settings, workers=workers, host=host, port=port)
    options.update(server_hooks(plugins))
    GunicornApplication(app, options, edge=edge_options(settings)).run()


def _run_granian(
    app: str,
    settings: Settings,
    *,
    workers: Optional[int],
    host: Optional[str],
    port: Optional[int],
) -> None:
    try:
        from granian import Granian
        from granian.constants import Interfaces
    except ImportError:
        _fail(
            StartupError("server='granian' needs the extra: pip install 'flyer-core[granian]'"), 2
        )
    wanted: Dict[str, Any] = {
        "address": host or settings.host,
        "port": port or settings.port,
        "interface": Interfaces.ASGI,
        "workers": workers or settings.workers,
        "log_access": False,
        "workers_kill_timeout": settings.graceful_timeout or None,
        "http1_keep_alive": bool(settings.keepalive),
        "respawn_failed_workers": False,
        "factory": True,
    }
    accepted = inspect.signature(Granian).parameters
    kwargs = {k: v for k, v in wanted.items() if k in accepted}
    if "factory" in kwargs:
        os.environ[_TARGET_VARIABLE] = app
        target = "flyer_core._runners:dev_app"
    else:
        target = app
    Granian(target, **kwargs).serve()
