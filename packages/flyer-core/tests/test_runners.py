"""Runners for real: gunicorn with two uvicorn workers, SIGTERM draining, uvicorn dev server,
settings errors as one line and an exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest

from flyer_core import load_settings
from flyer_core._gunicorn import GunicornLogger, Worker, gunicorn_options

MAIN = """
import asyncio, os, time
from flyer_core import create_app, APIRouter

JOURNAL = os.environ["JOURNAL"]

def note(text):
    with open(JOURNAL, "a") as f:
        f.write(f"{text} {os.getpid()}\\n")

class Journal:
    name = "journal"
    async def startup(self):
        note("startup")
    async def shutdown(self):
        note("shutdown")

router = APIRouter()

@router.get("/slow")
async def slow(seconds: float = 1.5):
    note("slow-begin")
    await asyncio.sleep(seconds)
    return {"data": os.getpid()}

@router.get("/pid")
def pid():
    return {"data": os.getpid()}

app = create_app(None, plugins=[Journal()])
app.include_router(router, prefix="/flyer")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "main.py").write_text(MAIN)
    return tmp_path


def _env(project: Path, **variables: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env.update({"JOURNAL": str(project / "journal.txt"), "flyer_log_format": "json"})
    env.update({f"flyer_{k}": v for k, v in variables.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _start(project: Path, code: str, env: Dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_up(url: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited {process.returncode}: {process.communicate()}")
        try:
            if httpx.get(url + "/health_check", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not come up")


@pytest.fixture
def stopper() -> Iterator[List[subprocess.Popen[str]]]:
    started: List[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def _journal(project: Path) -> List[List[str]]:
    path = project / "journal.txt"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
def test_gunicorn_two_workers_and_sigterm_drains_in_flight_requests(
    project: Path, free_port: Any, stopper: List[Any]
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code = f"from flyer_core import run_prod; run_prod('main:app', workers=2, host='127.0.0.1', port={port})"
    process = _start(project, code, _env(project, graceful_timeout="15"))
    stopper.append(process)
    _wait_up(url, process)

    deadline = time.monotonic() + 20
    while len({pid for _, pid in _journal(project)}) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    starts = {pid for what, pid in _journal(project) if what == "startup"}
    assert len(starts) == 2
    assert str(process.pid) not in starts

    result: Dict[str, Any] = {}

    def slow_call() -> None:
        result["response"] = httpx.get(url + "/flyer/slow?seconds=2", timeout=30)

    caller = threading.Thread(target=slow_call)
    caller.start()
    while not any(w == "slow-begin" for w, _ in _journal(project)):  # the request is in flight
        assert time.monotonic() < deadline + 20
        assert caller.is_alive()
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    caller.join(30)
    out, err = process.communicate(timeout=30)
    response = result["response"]
    assert response.status_code == 200, response.text
    assert str(response.json()["data"]) in starts
    assert process.returncode == 0, err
    stops = {pid for what, pid in _journal(project) if what == "shutdown"}
    assert stops == starts  # every worker ran its plugins' shutdown
    lines = [json.loads(line) for line in (out + err).splitlines() if line.startswith("{")]
    loggers = {line.get("logger") for line in lines}
    assert "gunicorn.error" in loggers
    assert "flyer.access" in loggers
    assert all(not line.startswith("[") for line in (out + err).splitlines() if line.strip())


@pytest.mark.slow
def test_run_prod_bad_setting_is_one_line_and_exit_2(project: Path) -> None:
    code = "from flyer_core import run_prod; run_prod('main:app')"
    process = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env=_env(project, port="abc"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2
    assert process.stderr.strip() == "error: flyer_port='abc': expected an integer 1-65535"


@pytest.mark.parametrize(
    "runner",
    ["run_dev('main:app', reload=False, port={port})", "run_prod('main:app', port={port})"],
)
@pytest.mark.slow
def test_startup_error_in_the_app_is_one_line(project: Path, free_port: Any, runner: str) -> None:
    (project / "main.py").write_text(
        "from flyer_core import create_app\n"
        "class Bad:\n"
        "    name = 'cache'\n"
        "    def setup(self, app, settings):\n"
        "        raise ValueError(\"flyer_redis_port='x': expected an integer 1-65535\")\n"
        "app = create_app(None, plugins=[Bad()])\n"
    )
    code = "from flyer_core import run_dev, run_prod; " + runner.format(port=free_port())
    process = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env=_env(project, host="127.0.0.1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode in (2, 4), (process.returncode, process.stderr)
    errors = [line for line in process.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: plugin 'cache': flyer_redis_port='x': expected an integer 1-65535"]
    assert "Traceback" not in process.stderr + process.stdout


@pytest.mark.slow
def test_run_dev_serves_the_app(project: Path, free_port: Any, stopper: List[Any]) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code = f"from flyer_core import run_dev; run_dev('main:app', host='127.0.0.1', port={port}, reload=False)"
    process = _start(project, code, _env(project))
    stopper.append(process)
    _wait_up(url, process)
    response = httpx.get(url + "/flyer/pid", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.json()["data"] == process.pid
    assert "server" not in response.headers
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert [w for w, _ in _journal(project)] == ["startup", "shutdown"]
    access = [json.loads(line) for line in out.splitlines() if '"flyer.access"' in line]
    assert access[0]["client"] == "127.0.0.1"  # X-Forwarded-For not trusted by default


def test_gunicorn_options_map_every_server_setting() -> None:
    settings = load_settings(
        None,
        {
            "flyer_host": "::1",
            "flyer_port": "9001",
            "flyer_workers": "3",
            "flyer_threads": "7",
            "flyer_worker_connections": "50",
            "flyer_enable_max_requests": "1",
            "flyer_max_requests": "1000",
            "flyer_max_requests_jitter": "50",
            "flyer_timeout": "30",
            "flyer_graceful_timeout": "12",
            "flyer_keepalive": "4",
            "flyer_console_log_level": "warn",
        },
    )
    options = gunicorn_options(settings)
    assert options["bind"] == ["[::1]:9001"]
    expected = {
        "workers": 3,
        "threads": 7,
        "worker_connections": 50,
        "max_requests": 1000,
        "max_requests_jitter": 50,
        "timeout": 30,
        "graceful_timeout": 12,
        "keepalive": 4,
        "loglevel": "warning",
        "preload_app": False,
        "accesslog": None,
    }
    assert {k: options[k] for k in expected} == expected
    assert options["worker_class"] == "flyer_core._gunicorn.Worker"
    assert options["logger_class"] == "flyer_core._gunicorn.GunicornLogger"
    from gunicorn.util import load_class

    assert load_class(options["worker_class"]) is Worker
    assert load_class(options["logger_class"]) is GunicornLogger
    assert gunicorn_options(settings, workers=1, host="127.0.0.1", port=1)["bind"] == [
        "127.0.0.1:1"
    ]
    plain = gunicorn_options(load_settings(None, {"flyer_max_requests": "1000"}))
    assert (plain["max_requests"], plain["max_requests_jitter"]) == (0, 0)  # not enabled


def test_worker_turns_off_uvicorn_proxy_headers_and_access_log() -> None:
    assert Worker.CONFIG_KWARGS["proxy_headers"] is False
    assert Worker.CONFIG_KWARGS["access_log"] is False


def test_unknown_server_is_rejected() -> None:
    from flyer_core import run_prod

    with pytest.raises(ValueError, match="server='waitress': expected one of gunicorn, granian"):
        run_prod(server="waitress")


@pytest.mark.slow
def test_granian_serves_and_stops_cleanly(
    project: Path, free_port: Any, stopper: List[Any]
) -> None:
    pytest.importorskip("granian")  # the `granian` extra; installed for these tests
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code = (
        "from flyer_core import run_prod; "
        f"run_prod('main:app', server='granian', workers=1, host='127.0.0.1', port={port})"
    )
    process = _start(project, code, _env(project))
    stopper.append(process)
    _wait_up(url, process)
    response = httpx.get(url + "/flyer/pid", headers={"X-Request-ID": "g-1"})
    assert response.headers["x-request-id"] == "g-1"
    worker = response.json()["data"]
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 0
    assert _journal(project) == [["startup", str(worker)], ["shutdown", str(worker)]]
