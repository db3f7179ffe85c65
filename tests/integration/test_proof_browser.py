"""The docs of a generated project, rendered by a real browser with no network beyond loopback.

Headless Chromium loads `{base}/docs` (Swagger UI) and `{base}/redoc` (ReDoc) of a project made
by `flyer create` and served by `flyer serve`. Every host name but 127.0.0.1 resolves to
nothing, so a page that needed a CDN would render empty. The dumped DOM (after the pages' own
JavaScript ran) must show every operation of the project's openapi.json, Chromium's network log
must show no request made by either page to anywhere but loopback, and a screenshot of each
page is saved under bench/out/. Skipped when Chromium is missing, except under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator, List, NamedTuple, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out"
PREFIX = "/demo"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    # Nothing resolves but loopback: a page that reaches for a CDN finds no host.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    # Let the pages' JavaScript fetch openapi.json and render before the DOM is taken.
    "--virtual-time-budget=20000",
]

pytestmark = pytest.mark.slow


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        reason = "chromium is not installed (Debian package `chromium`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; it is required under CI=true")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, serve_project: Callable[..., Any]
) -> Iterator[Any]:
    """A generated project under `flyer serve` (one worker) on a free loopback port."""
    chromium_present = _chromium()
    assert chromium_present
    base_dir = tmp_path_factory.mktemp("browser")
    with serve_project(base_dir, workers=1, flyer_log_format="json") as server:
        yield server


@pytest.fixture(scope="module")
def operations(
    served: Any, http_get: Callable[..., Tuple[int, bytes]]
) -> List[Tuple[str, str, str]]:
    """(method, path, operationId) of every operation the project documents."""
    status, body = http_get(f"{served.url}{PREFIX}/openapi.json")
    assert status == 200, body[:500]
    found = []
    for path, item in json.loads(body)["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}:
                found.append((method, path, operation["operationId"]))
    assert len(found) >= 8, found
    return found


def _run(args: List[str], workdir: Path) -> str:
    profile = workdir / "profile"
    shutil.rmtree(profile, ignore_errors=True)
    profile.mkdir(parents=True)
    result = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _page_requests(net_log: Path, origin: str) -> Set[str]:
    """URLs the page at `origin` asked for (Chromium's own background requests excluded)."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = set()
    for event in log["events"]:
        params = event.get("params") or {}
        if event.get("type") == start_job and str(params.get("initiator", "")).startswith(origin):
            urls.add(str(params["url"]))
    return urls


class Rendered(NamedTuple):
    dom: str
    requests: Set[str]


def _render(served: Any, page: str, workdir: Path) -> Rendered:
    net_log = workdir / f"{page}-net.json"
    dom = _run([f"--log-net-log={net_log}", "--dump-dom", f"{served.url}{PREFIX}/{page}"], workdir)
    return Rendered(dom, _page_requests(net_log, served.url))


@pytest.fixture(scope="module")
def swagger(served: Any, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return _render(served, "docs", tmp_path_factory.mktemp("swagger"))


@pytest.fixture(scope="module")
def redoc(served: Any, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return _render(served, "redoc", tmp_path_factory.mktemp("redoc"))


def test_swagger_ui_renders_every_operation(
    swagger: Rendered, operations: List[Tuple[str, str, str]]
) -> None:
    assert "Failed to load API definition" not in swagger.dom
    rendered = set(re.findall(r'id="operations-[^"]*?-([A-Za-z0-9_]+)"', swagger.dom))
    missing = [op for op in operations if op[2] not in rendered]
    assert missing == [], f"Swagger UI did not render: {missing}"
    shown_paths = set(re.findall(r'data-path="([^"]+)"', swagger.dom))
    assert {path for _, path, _ in operations} <= shown_paths


def test_redoc_renders_every_operation(
    redoc: Rendered, operations: List[Tuple[str, str, str]]
) -> None:
    assert "Something went wrong" not in redoc.dom
    rendered = set(re.findall(r'id="tag/[^"]*/operation/([A-Za-z0-9_]+)"', redoc.dom))
    missing = [op for op in operations if op[2] not in rendered]
    assert missing == [], f"ReDoc did not render: {missing}"


@pytest.mark.parametrize("page", ["swagger", "redoc"])
def test_the_docs_pages_fetch_nothing_beyond_loopback(
    page: str, request: pytest.FixtureRequest, served: Any
) -> None:
    rendered: Rendered = request.getfixturevalue(page)
    assert f"{served.url}{PREFIX}/openapi.json" in rendered.requests, rendered.requests
    outside = sorted(u for u in rendered.requests if not u.startswith(served.url + "/"))
    assert outside == [], f"the {page} page requested URLs beyond loopback: {outside}"


def _png_size(path: Path) -> Tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


@pytest.mark.parametrize(("page", "name"), [("docs", "docs.png"), ("redoc", "redoc.png")])
def test_a_screenshot_of_the_docs_is_saved(
    served: Any, tmp_path: Path, page: str, name: str
) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    shot = OUT / name
    shot.unlink(missing_ok=True)
    _run(
        [f"--screenshot={shot}", "--window-size=1280,2000", f"{served.url}{PREFIX}/{page}"],
        tmp_path,
    )
    assert shot.exists()
    assert _png_size(shot) == (1280, 2000)
    # A blank page compresses to a few KB; a rendered one holds text and colour.
    assert shot.stat().st_size > 40_000, shot.stat().st_size
