"""Plugins: installed packages that hook into every app through the `flyer.plugins` group.

An entry point names a zero-argument callable returning a fresh plugin object per app.
Every member is optional: `name`, `order` (default 100), `validate_settings(settings)`,
`setup(app, settings)`, `async startup()`, `async shutdown()`, `async check() -> bool | dict`,
`settings_fields()`. Start-up runs in `(order, name)` order; shutdown in reverse, bounded in
time.

Server hooks, for plugins that keep state shared by the worker processes of `flyer serve`,
all called in the serving (master) process: `prepare_server(settings)` before any worker
starts, `worker_exited(pid)` when a worker process has exited (killed ones included) and
`server_stopped()` when the server exits.

`validate_settings(settings)` reads the plugin's variables from `settings.environ` and raises
a one-line `ValueError` on a bad one (naming the variable, never showing a secret). flyer
calls it for every plugin before any plugin is set up, and the runners and the CLI call it
for every installed plugin before a server binds.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import os
import re
import sys
import time
from dataclasses import dataclass
from importlib.machinery import PathFinder
from typing import (
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Protocol,
    Set,
    Tuple,
    runtime_checkable,
)

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder

from flyer_core._errors import StartupError
from flyer_core._logging import logger
from flyer_core._settings import Settings, SettingsError

GROUP = "flyer.plugins"
DEFAULT_ORDER = 100


@runtime_checkable
class FlyerPlugin(Protocol):
    """What flyer-core calls on a plugin, in this order: `validate_settings(settings)` before
    anything binds, `setup(app, settings)` while the app is built, `await startup()` and
    `await shutdown()` around the app's life; `settings_fields()` for `flyer config`.

    Every shipped plugin satisfies it (`isinstance(plugin, FlyerPlugin)`). A plugin may also
    have `async check()` for `{base}/ready`. Core calls these duck-typed, so a plugin that has
    only some of them still loads.
    """

    name: str
    order: int

    def validate_settings(self, settings: Any) -> None: ...

    def setup(self, app: Any, settings: Any) -> None: ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...

    def settings_fields(self) -> List[Dict[str, Any]]: ...


@dataclass(frozen=True)
class LoadedPlugin:
    """A plugin object with the name and order flyer sorts it by."""

    name: str
    order: int
    plugin: Any


def _entry_points() -> List[importlib.metadata.EntryPoint]:
    """The installed `flyer.plugins` entry points."""
    found = _scanned_entry_points()
    if found is not None:
        return found
    every = importlib.metadata.entry_points()
    if hasattr(every, "select"):
        return list(every.select(group=GROUP))
    return list(every.get(GROUP, []))  # type: ignore[attr-defined]  # Python < 3.10


_METADATA_DIRS = (".dist-info", ".egg-info")
_SEPARATORS = re.compile(r"[-_.]+")


def _scanned_entry_points() -> Optional[List[importlib.metadata.EntryPoint]]:
    """The `flyer.plugins` entry points read from the `entry_points.txt` of each distribution
    in the `sys.path` directories, as `importlib.metadata` finds them (its first distribution
    of a name wins), without making a `Distribution` object for every installed one (~3 ms
    of an app's start). None when something else may provide distributions (a `sys.path`
    entry that is not a directory, a finder other than the standard one): then ask
    `importlib.metadata`."""
    finders = [f for f in sys.meta_path if hasattr(f, "find_distributions")]
    if finders != [PathFinder]:
        return None
    header = f"[{GROUP}]"
    seen: Set[str] = set()
    found: List[importlib.metadata.EntryPoint] = []
    for entry in sys.path:
        where = entry or "."
        try:
            names = sorted(os.listdir(where))
        except NotADirectoryError:
            return None  # a zip file or an egg: importlib.metadata reads those
        except OSError:
            continue
        for name in names:
            if not name.endswith(_METADATA_DIRS):
                continue
            distribution = _SEPARATORS.sub("-", name.rpartition(".")[0].partition("-")[0]).lower()
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(where, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            if header in text:
                found.extend(_group_entries(text))
    return found


def _group_entries(text: str) -> Iterator[importlib.metadata.EntryPoint]:
    """The `flyer.plugins` entries of an `entry_points.txt` (the entry points file format)."""
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
        elif group == GROUP:
            name, _, value = line.partition("=")
            yield importlib.metadata.EntryPoint(name.strip(), value.strip(), GROUP)


def _order(name: str, plugin: Any) -> int:
    order = getattr(plugin, "order", DEFAULT_ORDER)
    if isinstance(order, bool) or not isinstance(order, int):
        raise StartupError(f"plugin {name!r}: order={order!r}: expected an int")
    return order


def _wrap(name: str, plugin: Any) -> LoadedPlugin:
    name = str(getattr(plugin, "name", None) or name)
    return LoadedPlugin(name, _order(name, plugin), plugin)


def discover_plugins() -> List[LoadedPlugin]:
    """One fresh object from every installed `flyer.plugins` entry point, sorted."""
    loaded: Dict[str, LoadedPlugin] = {}
    for ep in sorted(_entry_points(), key=lambda e: (e.name, e.value)):
        if ep.name in loaded:
            continue  # the same distribution seen twice on sys.path
        try:
            plugin = ep.load()()
        except Exception as exc:
            raise StartupError(
                f"plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        loaded[ep.name] = _wrap(ep.name, plugin)
    return sort_plugins(loaded.values())


def given_plugins(plugins: Iterable[Any]) -> List[LoadedPlugin]:
    """Plugin objects handed to `create_app(plugins=...)`, named by `.name` or class."""
    return sort_plugins(
        p if isinstance(p, LoadedPlugin) else _wrap(type(p).__name__.lower(), p) for p in plugins
    )


def sort_plugins(plugins: Iterable[LoadedPlugin]) -> List[LoadedPlugin]:
    return sorted(plugins, key=lambda p: (p.order, p.name))


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _call(function: Any) -> Any:
    return await _maybe_await(function())


def _hooked(plugins: Iterable[LoadedPlugin], hook: str) -> Iterator[Tuple[LoadedPlugin, Any]]:
    """Each plugin that has `hook`, in order, with the hook."""
    for item in plugins:
        function = getattr(item.plugin, hook, None)
        if function is not None:
            yield item, function


def _call_each(
    plugins: Iterable[LoadedPlugin], hook: str, args: Tuple[Any, ...], failed: str, why: bool
) -> None:
    """Call `hook(*args)` on every plugin that has it, in order.

    A leaf reports a bad variable as a one-line `ValueError`: that becomes a `SettingsError`
    naming the plugin; anything else a `StartupError` saying it `failed` (with the exception's
    text when `why`).
    """
    for item, function in _hooked(plugins, hook):
        try:
            function(*args)
        except (SettingsError, StartupError):
            raise
        except ValueError as exc:
            raise SettingsError(f"plugin {item.name!r}: {exc}") from None
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}" if why else type(exc).__name__
            raise StartupError(f"plugin {item.name!r} failed to {failed}: {reason}") from exc


def validate_plugins(plugins: Iterable[LoadedPlugin], settings: Settings) -> None:
    """Call every plugin's `validate_settings(settings)`: a bad value is a `SettingsError`."""
    _call_each(plugins, "validate_settings", (settings,), "check its settings", why=False)


def check_plugin_settings(settings: Settings) -> None:
    """Validate the settings of every installed plugin (`flyer.plugins`), before a server binds.

    Raises `SettingsError` (one line) on a bad value, `StartupError` when a plugin does not load.
    """
    validate_plugins(discover_plugins(), settings)


def setup_plugins(plugins: List[LoadedPlugin], app: FastAPI, settings: Settings) -> None:
    """Validate every plugin's settings, then call each `setup(app, settings)` in order."""
    validate_plugins(plugins, settings)
    _call_each(plugins, "setup", (app, settings), "set up", why=True)


async def start_plugins(plugins: List[LoadedPlugin], timeout: float) -> None:
    """`startup()` in order; if one fails, stop those started and raise `StartupError`."""
    started: List[LoadedPlugin] = []
    for item in plugins:
        startup = getattr(item.plugin, "startup", None)
        if startup is not None:
            try:
                await _call(startup)
            except Exception as exc:
                logger.error(
                    "plugin failed to start",
                    plugin=item.name,
                    error=type(exc).__name__,
                    exc_info=exc,
                )
                await stop_plugins(started, timeout)
                raise StartupError(
                    f"plugin {item.name!r} failed to start: {type(exc).__name__}: {exc}"
                ) from None
        started.append(item)


async def stop_plugins(plugins: List[LoadedPlugin], timeout: float) -> None:
    """`shutdown()` in reverse order, all within about `timeout` seconds; errors are logged."""
    deadline = time.monotonic() + timeout
    for item, shutdown in _hooked(reversed(plugins), "shutdown"):
        # Each plugin gets at least a moment, even when an earlier one used the budget up.
        remaining = max(deadline - time.monotonic(), 0.1)
        try:
            await asyncio.wait_for(_call(shutdown), remaining)
        except asyncio.TimeoutError:
            logger.error("plugin shutdown timed out", plugin=item.name, timeout_s=remaining)
        except Exception as exc:
            logger.error(
                "plugin shutdown failed", plugin=item.name, error=type(exc).__name__, exc_info=exc
            )


def _normalise(result: Any) -> Dict[str, Any]:
    if isinstance(result, dict):
        report = dict(jsonable_encoder(result))
        report["ok"] = bool(result.get("ok", True))
        return report
    return {"ok": bool(result)}


async def check_plugins(
    plugins: List[LoadedPlugin], timeout: float
) -> Tuple[bool, Dict[str, Dict[str, Any]]]:
    """Every plugin's `check()`, concurrently, under one deadline: (all ok, report by name)."""
    checks = [(p, getattr(p.plugin, "check", None)) for p in plugins]
    tasks: Dict[str, asyncio.Task[Any]] = {
        p.name: asyncio.ensure_future(_call(check)) for p, check in checks if check
    }
    report: Dict[str, Dict[str, Any]] = {}
    if not tasks:
        return True, report
    _done, pending = await asyncio.wait(set(tasks.values()), timeout=timeout)
    for task in pending:
        task.cancel()
    for name, task in tasks.items():
        if task in pending:
            report[name] = {"ok": False, "error": f"timed out after {timeout:g}s"}
        elif task.exception() is not None:
            exc = task.exception()
            logger.warning(
                "readiness check failed", plugin=name, error=f"{type(exc).__name__}: {exc}"
            )
            report[name] = {"ok": False, "error": type(exc).__name__}
        else:
            report[name] = _normalise(task.result())
    return all(r["ok"] for r in report.values()), report


def call_server_hook(plugins: Iterable[LoadedPlugin], hook: str, *args: Any) -> None:
    """Call the server hook `hook(*args)` on every plugin that has it, in order.

    `prepare_server` failing stops start-up (`StartupError`); the others are logged, since
    the server is already running or stopping."""
    for item, function in _hooked(plugins, hook):
        try:
            function(*args)
        except Exception as exc:
            if hook == "prepare_server":
                raise StartupError(
                    f"plugin {item.name!r} failed to prepare the server: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            logger.error(f"plugin {hook} failed", plugin=item.name, error=type(exc).__name__)


def plugin_names(plugins: Optional[List[LoadedPlugin]]) -> List[str]:
    return [p.name for p in plugins or ()]
