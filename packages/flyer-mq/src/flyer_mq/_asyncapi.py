"""`{base}/asyncapi` (HTML, assets bundled in the wheel) and `{base}/asyncapi.json`.

Imported only where FastStream is installed (Python 3.10+).
"""

from __future__ import annotations

import html
import importlib.resources
import json
from typing import TYPE_CHECKING, Any, Dict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from flyer_mq._service import Service

# name -> media type of every asset served under {base}/asyncapi/static/
ASSETS: Dict[str, str] = {
    "asyncapi-standalone.js": "application/javascript",
    "asyncapi-default.min.css": "text/css",
}
_CACHE = "public, max-age=86400"


def read_asset(name: str) -> bytes:
    return importlib.resources.files("flyer_mq").joinpath("static", name).read_bytes()


def document(service: Service, title: str, version: str) -> Dict[str, Any]:
    """The AsyncAPI 3.0 document of the broker's channels (subscribers and publishers)."""
    from faststream.specification import AsyncAPI

    spec = AsyncAPI(service.broker, title=title, version=version).to_specification()
    data: Dict[str, Any] = json.loads(spec.to_json())
    return data


def page(title: str) -> str:
    """The AsyncAPI viewer for `asyncapi.json` beside it (relative URLs: any prefix works)."""
    config = {
        "show": {
            "sidebar": True,
            "info": True,
            "servers": True,
            "operations": True,
            "messages": True,
            "schemas": True,
            "errors": True,
        },
        "sidebar": {"showServers": "byDefault", "showOperations": "byDefault"},
    }
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)} - AsyncAPI</title>\n"
        '<link rel="stylesheet" href="asyncapi/static/asyncapi-default.min.css">\n'
        '</head>\n<body>\n<div id="asyncapi"></div>\n'
        '<script src="asyncapi/static/asyncapi-standalone.js"></script>\n'
        "<script>\n"
        'fetch("asyncapi.json").then(function (r) { return r.json(); }).then(function (schema) {\n'
        f"  window.AsyncApiStandalone.render({{schema: schema, config: {json.dumps(config)}}},\n"
        '    document.getElementById("asyncapi"));\n'
        "});\n</script>\n</body>\n</html>\n"
    )


def mount_docs(app: Any, service: Service, base: str) -> None:
    """Add the AsyncAPI routes to `app` (behind whatever guard flyer puts on plugin routes)."""
    title = str(getattr(app, "title", "flyer"))
    version = str(getattr(app, "version", "0.1.0"))

    async def asyncapi_json(request: Request) -> JSONResponse:
        return JSONResponse(document(service, title, version))

    async def asyncapi_html(request: Request) -> Response:
        return Response(page(title), media_type="text/html")

    async def asyncapi_asset(request: Request) -> Response:
        name = request.path_params["name"]
        media = ASSETS.get(name)
        if media is None:
            from flyer_status import FlyerError

            raise FlyerError(404, "Not Found", f"no asset {name!r}")
        return Response(read_asset(name), media_type=media, headers={"cache-control": _CACHE})

    app.add_api_route(f"{base}/asyncapi.json", asyncapi_json, include_in_schema=False)
    app.add_api_route(f"{base}/asyncapi", asyncapi_html, include_in_schema=False)
    app.add_api_route(f"{base}/asyncapi/static/{{name}}", asyncapi_asset, include_in_schema=False)
