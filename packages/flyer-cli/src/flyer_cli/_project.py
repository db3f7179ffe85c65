"""Finding the project in the current directory: its settings class and its app.

A flyer project (as `flyer create` writes it) has `main.py` defining `app` and, optionally,
`settings.py` defining `Settings`, a subclass of `flyer_core.Settings` carrying the
project's defaults. Commands run from the project directory, so it goes on `sys.path`
when a command needs it (never at import time).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from typing import TYPE_CHECKING, Any, Iterator, Type

from flyer_cli._errors import CliError, one_line

if TYPE_CHECKING:
    from fastapi import FastAPI

    from flyer_core import Settings


@contextlib.contextmanager
def logs_to_stderr() -> Iterator[None]:
    """Send what loading the project prints (flyer logs to stdout) to stderr, so a command's
    own output on stdout stays clean for pipes and `--json`."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _project_on_path() -> str:
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)
    return here


def _import(module_name: str, what: str) -> Any:
    """Import a project module, turning a failure into one line naming it."""
    from flyer_core import SettingsError, StartupError

    try:
        return importlib.import_module(module_name)
    except SettingsError as exc:
        raise CliError(f"bad settings: {one_line(exc)}") from None
    except StartupError as exc:
        raise CliError(f"{what}: {one_line(exc)}", exit_code=3) from None
    except ModuleNotFoundError as exc:
        if exc.name == module_name.split(".")[0]:
            raise CliError(
                f"{what}: no module {module_name!r} in {os.getcwd()}; run flyer from a project "
                "directory (see `flyer create --help`)"
            ) from None
        raise CliError(f"{what}: importing {module_name!r} failed: {one_line(exc)}") from None
    except (ImportError, ValueError, TypeError, AttributeError, SyntaxError) as exc:
        raise CliError(f"{what}: importing {module_name!r} failed: {one_line(exc)}") from None


def settings_class() -> Type[Settings]:
    """The project's `settings.Settings` when it subclasses flyer's Settings, else flyer's."""
    from flyer_core import Settings

    here = _project_on_path()
    if not os.path.isfile(os.path.join(here, "settings.py")):
        return Settings
    module = _import("settings", "settings.py")
    candidate = getattr(module, "Settings", None)
    if isinstance(candidate, type) and issubclass(candidate, Settings):
        return candidate
    return Settings


def load_settings() -> Settings:
    """The project's effective settings (`.env` and environment applied), validated.

    Only flyer-core's and the project's fields: `check_plugin_settings` checks the plugins'.
    """
    cls = settings_class()
    try:
        return cls()
    except ValueError as exc:  # core's SettingsError (one line), pydantic's ValidationError
        raise CliError(f"bad settings: {one_line(exc)}") from None


def check_plugin_settings(settings: Settings) -> None:
    """Validate every installed plugin's settings (`flyer_redis_*`, `flyer_db_*`...), so a bad
    value is one line before anything binds, not an error in each worker after."""
    from flyer_core import SettingsError, StartupError, check_plugin_settings

    try:
        check_plugin_settings(settings)
    except SettingsError as exc:
        raise CliError(f"bad settings: {one_line(exc)}") from None
    except StartupError as exc:
        raise CliError(one_line(exc), exit_code=3) from None


def check_app_module(ref: str) -> None:
    """Fail early, in one line, when the app's module is not in the project directory."""
    module_name = ref.partition(":")[0]
    _project_on_path()
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise CliError(
            f"--app {ref}: no module {module_name!r} in {os.getcwd()}; run flyer from a project "
            "directory (see `flyer create --help`)"
        )


def load_app(ref: str) -> FastAPI:
    """Import `MODULE:ATTR` from the project directory and return the app."""
    module_name, _, attr = ref.partition(":")
    check_app_module(ref)
    module = _import(module_name, f"--app {ref}")
    app = getattr(module, attr, None)
    if app is None or not hasattr(app, "routes"):
        raise CliError(f"--app {ref}: {module_name!r} has no ASGI app named {attr!r}")
    return app  # type: ignore[no-any-return]
