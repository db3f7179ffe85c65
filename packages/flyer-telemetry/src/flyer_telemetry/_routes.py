"""The route template a request matched (`/flyer/items/{item_id}`), never its raw path."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

UNMATCHED = "<unmatched>"


def route_template(scope: Dict[str, Any]) -> str:
    """The full path template of the route that answered `scope`, or `<unmatched>`.

    Starlette and FastAPI record the matched route in the scope. Its template may lack the
    prefix of the router it was included with (FastAPI keeps included routers nested): the
    prefix is then taken from the request's path, its path parameters named, not valued.
    Without a recorded route, the app's routes are asked which one matches fully.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(template, str):
        return _with_prefix(scope, template)
    app = scope.get("app")
    routes = getattr(getattr(app, "router", None), "routes", None) or ()
    if routes:
        from starlette.routing import Match

        for candidate in routes:
            try:
                match, _ = candidate.matches(scope)
            except Exception:  # a route type that cannot judge this scope
                continue
            if match == Match.FULL:
                path = getattr(candidate, "path", None)
                return path if isinstance(path, str) else UNMATCHED
    return UNMATCHED


_KNOWN: Dict[Tuple[str, str], str] = {}


def _with_prefix(scope: Dict[str, Any], template: str) -> str:
    path = scope.get("path", "")
    if path == template or not isinstance(path, str) or ":path}" in template:
        return template
    extra = path.count("/") - template.count("/")
    if extra <= 0:
        return template
    cut = 0
    for _ in range(extra):
        cut = path.find("/", cut + 1)
    key = (template, path[:cut])
    known = _KNOWN.get(key)
    if known is not None:
        return known
    prefix: List[str] = path[:cut].split("/")
    params = scope.get("path_params") or {}
    if params:
        # A router prefix with parameters (`/users/{uid}`): the name, never the value.
        by_value = {
            str(value): name for name, value in params.items() if f"{{{name}" not in template
        }
        prefix = [f"{{{by_value[p]}}}" if p in by_value else p for p in prefix]
    found = "/".join(prefix) + template
    if len(_KNOWN) < 4096:  # bounded: a prefix with parameters has a key per value
        _KNOWN[key] = found
    return found
