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
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Set, Tuple

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


class Served(NamedTuple):
    base: str
    root: Path
    log: Path


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def _get(url: str, timeout: float = 5) -> Tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A generated project under `flyer serve` (one worker) on a free loopback port."""
    chromium_present = _chromium()
    assert chromium_present
    base_dir = tmp_path_factory.mktemp("browser")
    root = base_dir / "demo"
    created = subprocess.run(
        [sys.executable, "-m", "flyer_cli", "create", "demo", "--dir", str(root)],
        cwd=str(base_dir),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    port = _free_port()
    log = base_dir / "serve.log"
    flyer = Path(sys.executable).with_name("flyer")
    env = _env(
        flyer_log_format="json",
        flyer_sched_lock_dir=str(base_dir / "locks"),
        flyer_graceful_timeout="5",
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(flyer), "serve", "-w", "1", "--host", "127.0.0.1", "--port", str(port)],
            cwd=str(root),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"flyer serve exited with {process.returncode}:\n{log.read_text()[-4000:]}"
                )
            try:
                if _get(f"{base}/health_check", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"flyer serve did not answer within 90 s:\n{log.read_text()[-4000:]}")
            time.sleep(0.3)
        yield Served(base, root, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture(scope="module")
def operations(served: Served) -> List[Tuple[str, str, str]]:
    """(method, path, operationId) of every operation the project documents."""
    status, body = _get(f"{served.base}{PREFIX}/openapi.json")
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


def _render(served: Served, page: str, workdir: Path) -> Rendered:
    net_log = workdir / f"{page}-net.json"
    dom = _run([f"--log-net-log={net_log}", "--dump-dom", f"{served.base}{PREFIX}/{page}"], workdir)
    return Rendered(dom, _page_requests(net_log, served.base))


@pytest.fixture(scope="module")
def swagger(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return _render(served, "docs", tmp_path_factory.mktemp("swagger"))


@pytest.fixture(scope="module")
def redoc(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
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
    page: str, request: pytest.FixtureRequest, served: Served
) -> None:
    rendered: Rendered = request.getfixturevalue(page)
    assert f"{served.base}{PREFIX}/openapi.json" in rendered.requests, rendered.requests
    outside = sorted(u for u in rendered.requests if not u.startswith(served.base + "/"))
    assert outside == [], f"the {page} page requested URLs beyond loopback: {outside}"


def _png_size(path: Path) -> Tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


@pytest.mark.parametrize(("page", "name"), [("docs", "docs.png"), ("redoc", "redoc.png")])
def test_a_screenshot_of_the_docs_is_saved(
    served: Served, tmp_path: Path, page: str, name: str
) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    shot = OUT / name
    shot.unlink(missing_ok=True)
    _run(
        [f"--screenshot={shot}", "--window-size=1280,2000", f"{served.base}{PREFIX}/{page}"],
        tmp_path,
    )
    assert shot.exists()
    assert _png_size(shot) == (1280, 2000)
    # A blank page compresses to a few KB; a rendered one holds text and colour.
    assert shot.stat().st_size > 40_000, shot.stat().st_size
