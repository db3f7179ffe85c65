"""Offline docs: Swagger UI, ReDoc and their assets come from the wheel, with no external URL."""

from __future__ import annotations

import re
from typing import Any, List

import httpx
import pytest

from flyer_core import create_app

URL = re.compile(r"(?:https?:)?//[^\s\"'<>)]+")
LOOPBACK = re.compile(r"^(?:https?:)?//(?:127\.0\.0\.1|localhost|\[::1\])(?:[:/]|$)")


def external_urls(text: str) -> List[str]:
    """Every absolute or protocol-relative URL that is not loopback."""
    return [url for url in URL.findall(text) if not LOOPBACK.match(url)]


def test_the_check_itself_catches_external_urls() -> None:
    html = '<script src="https://cdn.example/x.js"></script><link href="//fonts.example/a">'
    assert external_urls(html) == ["https://cdn.example/x.js", "//fonts.example/a"]
    assert external_urls('<a href="http://127.0.0.1:8080/x">') == []


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_docs_pages_and_assets_are_local(serve: Any, make_settings: Any, page: str) -> None:
    with serve(create_app(None, make_settings(), plugins=[])) as url, httpx.Client() as client:
        response = client.get(f"{url}/flyer/{page}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        # The browser may fetch nothing but this origin, whatever the bundles would like.
        policy = dict(
            part.strip().split(" ", 1)
            for part in response.headers["content-security-policy"].split(";")
        )
        for directive in ("default-src", "connect-src", "img-src", "font-src", "script-src"):
            assert all(
                s in ("'self'", "'unsafe-inline'", "data:", "blob:")
                for s in policy[directive].split()
            )
        html = response.text
        assert external_urls(html) == []
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets
        assert all(a.startswith("static/") for a in assets)
        for asset in assets:
            got = client.get(f"{url}/flyer/{asset}")
            assert got.status_code == 200, asset
            assert len(got.content) > 100
            assert "max-age" in got.headers["cache-control"]
        spec = re.search(r'"(openapi\.json)"', html)
        assert spec is not None
        assert client.get(f"{url}/flyer/openapi.json").json()["openapi"].startswith("3.")


def test_swagger_has_no_online_validator(serve: Any, make_settings: Any) -> None:
    with serve(create_app(None, make_settings(), plugins=[])) as url:
        assert "validatorUrl: null" in httpx.get(url + "/flyer/docs").text


def test_root_redirects_to_the_docs(serve: Any, make_settings: Any) -> None:
    with serve(create_app(None, make_settings(base_url="/api/v2"), plugins=[])) as url:
        response = httpx.get(url + "/")
        assert response.status_code == 307
        assert response.headers["location"] == "/api/v2/docs"
        assert httpx.get(url + "/api/v2/docs").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/flyer/static/../__init__.py",
        "/flyer/static/..%2F__init__.py",
        "/flyer/static/%2e%2e%2f%2e%2e%2fsettings.py",
        "/flyer/static/VERSIONS",
        "/flyer/static/swagger-ui.LICENSE",
        "/flyer/static/nope.js",
        "/flyer/static/",
    ],
)
def test_static_route_serves_only_the_bundled_assets(
    serve: Any, make_settings: Any, path: str
) -> None:
    with serve(create_app(None, make_settings(), plugins=[])) as url:
        response = httpx.get(url + path)
    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_docs_can_be_switched_off(serve: Any, make_settings: Any) -> None:
    with serve(create_app(None, make_settings(docs_enabled=0), plugins=[])) as url:
        for path in ("/flyer/docs", "/flyer/redoc", "/flyer/static/swagger-ui.css", "/"):
            assert httpx.get(url + path).status_code == 404, path
        assert httpx.get(url + "/flyer/openapi.json").status_code == 200
    settings = make_settings(openapi_enabled=0)
    with serve(create_app(None, settings, plugins=[])) as url:
        for path in ("/flyer/docs", "/flyer/openapi.json"):
            assert httpx.get(url + path).status_code == 404, path
        assert httpx.get(url + "/health_check").status_code == 200


def test_docs_are_protected_by_basic_auth(serve: Any, make_settings: Any) -> None:
    settings = make_settings(auth_enable=1, auth_user="admin", auth_pass="s3cret")
    with serve(create_app(None, settings, plugins=[])) as url:
        for path in (
            "/flyer/docs",
            "/flyer/redoc",
            "/flyer/openapi.json",
            "/flyer/static/favicon.png",
        ):
            denied = httpx.get(url + path)
            assert denied.status_code == 401, path
            assert denied.headers["www-authenticate"].startswith("Basic")
            assert denied.json()["code"] == 401
            assert httpx.get(url + path, auth=("admin", "wrong")).status_code == 401
            assert httpx.get(url + path, auth=("admin", "s3cret")).status_code == 200
        # Probes never need credentials.
        assert httpx.get(url + "/health_check").status_code == 200
        assert httpx.get(url + "/flyer/ready").status_code == 200


def test_liveness_routes(serve: Any, make_settings: Any) -> None:
    with serve(create_app(None, make_settings(base_url="/svc"), plugins=[])) as url:
        for path in ("/health_check", "/health_check/async", "/svc/health_check"):
            response = httpx.get(url + path, headers={"X-Request-ID": "probe-1"})
            assert response.status_code == 200
            assert response.json() == {
                "code": 200,
                "message": "OK",
                "detail": "",
                "data": {"status": "alive"},
                "request_id": "probe-1",
            }
        assert httpx.head(url + "/health_check").status_code == 200
        assert httpx.post(url + "/health_check").status_code == 405
