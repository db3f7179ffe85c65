"""`flyer routes`: every route of the app with its method, path, name, module and auth."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Set

from flyer_cli._project import load_app, load_settings, logs_to_stderr
from flyer_cli._table import print_rows

COLUMNS = ["method", "path", "name", "module", "auth"]


def _module_of(obj: Any) -> str:
    target = getattr(obj, "func", obj)  # functools.partial
    module = getattr(target, "__module__", None) or type(target).__module__
    return str(module)


def _requires(dependant: Any, auth: Callable[..., Any], seen: Set[int]) -> bool:
    """Whether `auth` is anywhere in a FastAPI dependant tree."""
    if dependant is None or id(dependant) in seen:
        return False
    seen.add(id(dependant))
    if getattr(dependant, "call", None) is auth:
        return True
    return any(_requires(dep, auth, seen) for dep in getattr(dependant, "dependencies", ()))


def _rows(
    routes: Iterable[Any], auth: Optional[Callable[..., Any]], prefix: str
) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    for route in routes:
        path = prefix + str(getattr(route, "path", ""))
        endpoint = getattr(route, "endpoint", None)
        if endpoint is None and hasattr(route, "app"):  # a Mount: static files, sub-apps
            sub_routes = getattr(route, "routes", None)
            if sub_routes and not hasattr(route.app, "openapi"):
                rows.extend(_rows(_flat(list(sub_routes)), auth, path))
                continue
            rows.append(
                {
                    "method": "*",
                    "path": path.rstrip("/") + "/...",
                    "name": getattr(route, "name", None) or "",
                    "module": _module_of(route.app),
                    "auth": False,
                }
            )
            continue
        methods = getattr(route, "methods", None)
        if methods:
            method = ",".join(sorted(m for m in methods if m != "HEAD") or sorted(methods))
        else:
            kind = type(getattr(route, "original_route", route)).__name__.lower()
            method = "WS" if "websocket" in kind else "*"
        guarded = auth is not None and _requires(getattr(route, "dependant", None), auth, set())
        rows.append(
            {
                "method": method,
                "path": path,
                "name": getattr(route, "name", None) or "",
                "module": _module_of(endpoint),
                "auth": guarded,
            }
        )
    return rows


def _flat(routes: List[Any]) -> List[Any]:
    """The routes as served: newer FastAPI keeps included routers lazy, so expand them."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazy inclusion: include_router copied the routes
        return routes
    return list(iter_route_contexts(routes))


def route_rows(app: Any) -> List[Dict[str, Any]]:
    """One row per route of `app` (method, path, name, module, auth), in routing order."""
    auth = getattr(getattr(app, "state", None), "flyer_auth", None)
    return _rows(_flat(list(app.routes)), auth, "")


def routes_command(app_ref: str, *, as_json: bool) -> int:
    """Load the app and print its routes."""
    with logs_to_stderr():
        load_settings()  # a bad value is one line naming it, before the app is imported
        rows = route_rows(load_app(app_ref))
    print_rows(rows, COLUMNS, as_json=as_json)
    return 0
