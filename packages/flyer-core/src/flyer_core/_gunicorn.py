"""gunicorn for production: uvicorn workers, flyer's logging, every `flyer_*` setting mapped.

The app is imported in each worker (never preloaded in the master), so plugins and
schedulers start in the workers' lifespan. SIGTERM makes each worker finish its in-flight
requests and run the plugins' shutdown within `flyer_graceful_timeout`.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Dict, List, Optional

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from flyer_core._plugins import LoadedPlugin, call_server_hook
from flyer_core._settings import Settings

try:
    from uvicorn_worker import UvicornWorker as _UvicornWorker
except ImportError:  # pragma: no cover - uvicorn-worker missing: uvicorn's bundled worker
    from uvicorn.workers import UvicornWorker as _UvicornWorker


class Worker(_UvicornWorker):  # type: ignore[misc]
    """A uvicorn worker as flyer wants it.

    flyer's middleware writes the access line and resolves `X-Forwarded-For` from
    `flyer_trusted_proxies` only, so uvicorn's own access log and proxy headers are off;
    no `server` header; flyer's edge protocol (`flyer_core._edge`) applies the header, time
    and connection limits (`flyer_worker_connections`: idle keep-alive connections make room,
    then a 503 envelope).
    """

    CONFIG_KWARGS: ClassVar[Dict[str, Any]] = {
        "loop": "auto",
        "http": "auto",
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        edge = getattr(self.app, "flyer_edge", None)
        if edge:
            for name, value in edge.items():
                setattr(self.config, name, value)
        else:
            self.config.limit_concurrency = self.cfg.worker_connections


class GunicornLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, sending its lines through flyer's handlers (the root logger)."""

    def setup(self, cfg: Any) -> None:
        self.loglevel = self.LOG_LEVELS.get(cfg.loglevel.lower(), logging.INFO)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True
        self.error_log.setLevel(self.loglevel)
        self.access_log.setLevel(logging.INFO)


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def server_hooks(plugins: List[LoadedPlugin]) -> Dict[str, Any]:
    """gunicorn server hooks (run in the master) calling the plugins' server hooks:
    `worker_exited(pid)` as each worker is reaped, `server_stopped()` at exit. (The runner
    calls `prepare_server` itself, before gunicorn starts.)"""

    def child_exit(server: Any, worker: Any) -> None:
        call_server_hook(plugins, "worker_exited", worker.pid)

    def on_exit(server: Any) -> None:
        call_server_hook(plugins, "server_stopped")

    return {"child_exit": child_exit, "on_exit": on_exit}


def gunicorn_options(
    settings: Settings,
    *,
    workers: Optional[int] = None,
    host: Optional[str] = None,
    port: Optional[int] = None,
) -> Dict[str, Any]:
    """gunicorn settings from flyer's: bind, workers, threads, worker_connections,
    max_requests (+ jitter) when enabled, timeout, graceful_timeout, keepalive, log level."""
    max_requests = settings.max_requests if settings.enable_max_requests else 0
    return {
        "bind": [bind_address(host or settings.host, port or settings.port)],
        "workers": workers or settings.workers,
        "threads": settings.threads,
        "worker_connections": settings.worker_connections,
        "max_requests": max_requests,
        "max_requests_jitter": settings.max_requests_jitter if max_requests else 0,
        "timeout": settings.timeout,
        "graceful_timeout": settings.graceful_timeout,
        "keepalive": settings.keepalive,
        "loglevel": settings.console_log_level,
        # Access lines come from flyer's middleware (flyer_access_log / flyer_access_logfile).
        "accesslog": None,
        "errorlog": "-",
        # Dotted paths, not classes: gunicorn < 23 reads the worker class setting as text.
        "worker_class": f"{__name__}.Worker",
        "logger_class": f"{__name__}.GunicornLogger",
        "preload_app": False,
        "proc_name": "flyer",
        # gunicorn >= 25: no per-user control socket shared by every service on the host.
        "control_socket_disable": True,
    }


class GunicornApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn configured from a dict, loading the app (`module:attr`) in each worker."""

    def __init__(
        self, target: str, options: Dict[str, Any], edge: Optional[Dict[str, Any]] = None
    ) -> None:
        self.target = target
        self.options = options
        self.flyer_edge = edge  # uvicorn settings each worker applies (flyer_core._edge)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # older gunicorn lacks some settings
                self.cfg.set(key, value)

    def load(self) -> Any:
        from flyer_core._runners import load_target

        return load_target(self.target, exit_code=4)  # gunicorn: "App failed to load."
