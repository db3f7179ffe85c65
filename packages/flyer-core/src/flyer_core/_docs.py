"""Offline API docs: Swagger UI and ReDoc served from assets inside the wheel.

No page flyer serves points at a CDN: the docs render on a machine with no internet.
Assets are looked up by name in a fixed table, so no request path reaches the file system.
"""

from __future__ import annotations

import functools
import html
import pkgutil
from typing import Awaitable, Callable, Dict, Tuple

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

ASSETS: Dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
"""Asset name -> content type: the only files the static route serves."""

_CACHE = "public, max-age=86400"

# The docs pages may load nothing from elsewhere, whatever the bundled code would like to
# (ReDoc's footer asks a CDN for a logo image: blocked, and it hides itself on error).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


@functools.lru_cache(maxsize=None)
def read_asset(name: str) -> bytes:
    """The bytes of a bundled asset (read once per process, through the package loader)."""
    data = pkgutil.get_data("flyer_core", f"static/{name}")
    if data is None:  # pragma: no cover - a loader without get_data
        raise FileNotFoundError(name)
    return data


async def asset(request: Request) -> Response:
    """`{base}/static/{name}`: one of the bundled assets, else 404."""
    name = request.path_params["name"]
    content_type = ASSETS.get(name)
    if content_type is None:
        raise HTTPException(404)
    return Response(read_asset(name), media_type=content_type, headers={"cache-control": _CACHE})


def _page(title: str, head: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<link rel="icon" type="image/png" href="static/favicon.png">\n'
        f"{head}</head>\n<body>\n{body}</body>\n</html>\n"
    )


def swagger_html(title: str) -> str:
    """Swagger UI for `openapi.json` beside it (relative URLs work behind any prefix)."""
    return _page(
        f"{title} - Swagger UI",
        '<link rel="stylesheet" href="static/swagger-ui.css">\n',
        '<div id="swagger-ui"></div>\n'
        '<script src="static/swagger-ui-bundle.js"></script>\n'
        "<script>\n"
        "window.ui = SwaggerUIBundle({\n"
        '  url: "openapi.json",\n'
        '  dom_id: "#swagger-ui",\n'
        "  deepLinking: true,\n"
        "  validatorUrl: null,\n"
        "  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],\n"
        '  layout: "BaseLayout"\n'
        "});\n"
        "</script>\n",
    )


def redoc_html(title: str) -> str:
    """ReDoc for `openapi.json` beside it, with no web fonts fetched."""
    return _page(
        f"{title} - ReDoc",
        "<style>body { margin: 0; padding: 0; }</style>\n",
        '<div id="redoc"></div>\n'
        '<script src="static/redoc.standalone.js"></script>\n'
        "<script>\n"
        'Redoc.init("openapi.json", {\n'
        "  hideDownloadButton: false,\n"
        '  theme: { typography: { fontFamily: "system-ui, sans-serif",'
        ' headings: { fontFamily: "system-ui, sans-serif" } } }\n'
        '}, document.getElementById("redoc"));\n'
        "</script>\n",
    )


def docs_pages(title: str) -> Tuple[str, str]:
    return swagger_html(title), redoc_html(title)


def html_endpoint(text: str) -> Callable[[Request], Awaitable[HTMLResponse]]:
    """An endpoint answering `text` as HTML (a FastAPI or a Starlette route's)."""

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(text, headers={"content-security-policy": CONTENT_SECURITY_POLICY})

    return page


def redirect_to(path: str) -> Callable[[Request], Awaitable[RedirectResponse]]:
    """An endpoint redirecting to `path` (under the app's root path)."""

    async def root(request: Request) -> RedirectResponse:
        return RedirectResponse(request.scope.get("root_path", "") + path)

    return root
