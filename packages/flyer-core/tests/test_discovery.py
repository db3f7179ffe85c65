"""App discovery: sub-packages exporting `router`, sorted, switchable, failing loudly."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator

import httpx
import pytest

from flyer_core import StartupError, create_app


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_modules: None) -> Iterator[Any]:
    """Writes an apps package with a unique name under tmp_path and puts it on sys.path."""
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"apps_{uuid.uuid4().hex[:8]}"

    def write(apps: Dict[str, str]) -> str:
        top = tmp_path / name
        top.mkdir(exist_ok=True)
        (top / "__init__.py").write_text("")
        for sub, code in apps.items():
            (top / sub).mkdir()
            (top / sub / "__init__.py").write_text(textwrap.dedent(code))
        return name

    return write


ROUTER = """
from flyer_core import APIRouter
router = APIRouter()

@router.get("/{name}")
async def hello():
    return {{"data": "{name}"}}
{extra}
"""


def app_code(name: str, extra: str = "") -> str:
    return ROUTER.format(name=name, extra=extra)


def test_routers_are_mounted_under_the_base_url_in_sorted_order(
    project: Any, serve: Any, make_settings: Any, tmp_path: Path
) -> None:
    order = tmp_path / "order.txt"
    record = f"with open({str(order)!r}, 'a') as f:\n    f.write(__name__.rsplit('.', 1)[1] + ' ')"
    apps = project(
        {
            "zeta": app_code("zeta", record),
            "mid": app_code("mid", record),
            "alpha": app_code("alpha", record),
            "off": app_code("off", "__ENABLED__ = False"),
            "norouter": "X = 1\n",
            "_private": app_code("private"),
        }
    )
    app = create_app(apps, make_settings(), plugins=[])
    assert order.read_text().split() == ["alpha", "mid", "zeta"]
    with serve(app) as url:
        assert httpx.get(url + "/flyer/alpha").json()["data"] == "alpha"
        assert httpx.get(url + "/flyer/zeta").json()["data"] == "zeta"
        assert httpx.get(url + "/flyer/off").status_code == 404
        assert httpx.get(url + "/flyer/private").status_code == 404


def test_an_app_that_fails_to_import_stops_start_up(project: Any, make_settings: Any) -> None:
    apps = project({"good": app_code("good"), "broken": "import no_such_module_here\n"})
    with pytest.raises(StartupError) as err:
        create_app(apps, make_settings(), plugins=[])
    message = str(err.value)
    assert f"{apps}.broken" in message
    assert "no_such_module_here" in message
    assert "\n" not in message


def test_a_router_of_the_wrong_type_is_an_error(project: Any, make_settings: Any) -> None:
    apps = project({"odd": "router = object()\n"})
    with pytest.raises(StartupError, match=r"expected a fastapi\.APIRouter"):
        create_app(apps, make_settings(), plugins=[])


def test_missing_apps_package_is_an_error(make_settings: Any) -> None:
    with pytest.raises(StartupError, match="apps package 'no_such_apps_pkg' failed to import"):
        create_app("no_such_apps_pkg", make_settings(), plugins=[])


def test_auth_protects_apps_unless_exempted(project: Any, serve: Any, make_settings: Any) -> None:
    apps = project(
        {"private": app_code("private"), "public": app_code("public", "__AUTH_ENABLED__ = False")}
    )
    settings = make_settings(auth_enable=1, auth_user="u", auth_pass="p")
    with serve(create_app(apps, settings, plugins=[])) as url:
        assert httpx.get(url + "/flyer/private").status_code == 401
        assert httpx.get(url + "/flyer/private", auth=("u", "p")).json()["data"] == "private"
        assert httpx.get(url + "/flyer/public").json()["data"] == "public"
        doc = httpx.get(url + "/flyer/openapi.json", auth=("u", "p")).json()
    assert "401" in doc["paths"]["/flyer/private"]["get"]["responses"]
    assert "401" not in doc["paths"]["/flyer/public"]["get"]["responses"]


def test_many_apps_in_one_process(project: Any, serve: Any, make_settings: Any) -> None:
    apps = project({"one": app_code("one")})
    first = create_app(apps, make_settings(base_url="/a"), plugins=[])
    second = create_app(apps, make_settings(base_url="/b"), plugins=[])
    with serve(first) as url_a, serve(second) as url_b:
        assert httpx.get(url_a + "/a/one").json()["data"] == "one"
        assert httpx.get(url_b + "/b/one").json()["data"] == "one"
        assert httpx.get(url_a + "/b/one").status_code == 404


def test_every_enabled_app_package_is_listed_for_plugins(project: Any, make_settings: Any) -> None:
    # Plugins read their own exports (flyer-mq's `mq`) from these, routers or not.
    apps = project(
        {
            "b_events": "mq = 'subscribers only'\n",
            "a_api": app_code("a_api"),
            "off": app_code("off", "__ENABLED__ = False"),
        }
    )
    app = create_app(apps, make_settings(), plugins=[])
    listed = [(name, getattr(module, "mq", None)) for name, module in app.state.flyer_app_modules]
    assert listed == [(f"{apps}.a_api", None), (f"{apps}.b_events", "subscribers only")]
    assert create_app(None, make_settings(), plugins=[]).state.flyer_app_modules == []
