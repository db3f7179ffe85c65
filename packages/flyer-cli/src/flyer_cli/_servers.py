"""`flyer run` and `flyer serve`: thin wrappers over flyer-core's server runners.

Both check, before any server starts, that the app's module exists and that the settings,
every installed plugin's included, are valid, so a typo is one line instead of a traceback
from a worker process.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING, Optional

from flyer_cli._errors import CliError, one_line
from flyer_cli._project import check_app_module, check_plugin_settings, load_settings

if TYPE_CHECKING:
    from flyer_core import Settings


def _docs_line(host: str, port: int, base_url: str) -> str:
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"flyer: docs at http://{shown}:{port}{base_url.rstrip('/')}/docs"


def _configure_logging(settings: Settings) -> None:
    """flyer's logging, set up before any server starts: a log file that cannot be opened
    (`flyer_log_file`, `flyer_access_logfile`) is one line, not a traceback."""
    from flyer_core import SettingsError, configure_logging

    try:
        configure_logging(settings)
    except SettingsError as exc:
        raise CliError(f"bad settings: {one_line(exc)}") from None


def run_command(app: str, *, host: Optional[str], port: Optional[int], reload: bool) -> int:
    """Development server: uvicorn with reload."""
    check_app_module(app)
    settings = load_settings()
    check_plugin_settings(settings)
    _configure_logging(settings)
    from flyer_core import run_dev

    print(
        _docs_line(host or settings.host, port or settings.port, settings.base_url),
        file=sys.stderr,
        flush=True,
    )
    run_dev(app, host=host, port=port, reload=reload, settings=settings)
    return 0


def serve_command(
    app: str,
    *,
    workers: Optional[int],
    host: Optional[str],
    port: Optional[int],
    server: str,
) -> int:
    """Production server: gunicorn with uvicorn workers, or granian."""
    if server == "granian" and importlib.util.find_spec("granian") is None:
        raise CliError(
            "--server granian: granian is not installed; pip install 'flyer-core[granian]'"
        )
    check_app_module(app)
    settings = load_settings()
    check_plugin_settings(settings)
    _configure_logging(settings)
    from flyer_core import run_prod

    run_prod(app, workers=workers, host=host, port=port, server=server, settings=settings)
    return 0
