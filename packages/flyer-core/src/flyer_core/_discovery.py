"""App discovery: every sub-package of the apps package that exports `router` is an API.

Sub-packages are imported in sorted order. `__ENABLED__ = False` skips one;
`enabled_apps` lists every enabled sub-package (with a router or not), so a plugin can read
its own export from them the same way (flyer-mq's `mq`, for instance);
`__AUTH_ENABLED__ = False` exempts one from HTTP Basic auth. A sub-package that fails to
import stops start-up with an error naming it: a typo must not silently remove an API.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType
from typing import List, Optional, Tuple, cast

from fastapi import APIRouter

from flyer_core._errors import StartupError
from flyer_core._logging import logger


@dataclass(frozen=True)
class DiscoveredApp:
    """One business app: its module name, its router and whether auth protects it."""

    name: str
    router: APIRouter
    auth: bool


def _import(name: str, what: str) -> object:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise StartupError(
            f"{what} {name!r} failed to import: {type(exc).__name__}: {exc}"
        ) from exc


def enabled_apps(package: str) -> List[Tuple[str, ModuleType]]:
    """`(name, module)` of every enabled sub-package of `package`, in sorted order."""
    top = _import(package, "apps package")
    path = getattr(top, "__path__", None)
    if path is None:
        raise StartupError(f"apps={package!r} is a module; expected a package of app packages")
    found: List[Tuple[str, ModuleType]] = []
    for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        name = f"{package}.{info.name}"
        module = _import(name, "app")
        if not getattr(module, "__ENABLED__", True):
            logger.info("app disabled", app=name)
            continue
        found.append((name, cast(ModuleType, module)))
    return found


def discover_apps(
    package: str, modules: Optional[List[Tuple[str, ModuleType]]] = None
) -> List[DiscoveredApp]:
    """The routers of `package`'s enabled sub-packages (`modules`, when already listed)."""
    found: List[DiscoveredApp] = []
    for name, module in enabled_apps(package) if modules is None else modules:
        router = getattr(module, "router", None)
        if router is None:
            logger.debug("app has no router", app=name)
            continue
        if not isinstance(router, APIRouter):
            raise StartupError(
                f"app {name!r}: router is a {type(router).__name__}; expected a fastapi.APIRouter"
            )
        found.append(DiscoveredApp(name, router, bool(getattr(module, "__AUTH_ENABLED__", True))))
    return found
